// Module hooks that run the repository's TypeScript: esbuild strips the types file by file
// (no type check: `npm run typecheck` does that), keeps the code's lines and whitespace and adds
// an inline source map, so V8 coverage maps back line for line (tsx minifies its output, which
// collapses coverage, and ts-node loads the whole TypeScript compiler into every test process).
// A `./x.js` import from a TypeScript file finds `./x.ts`, as TypeScript's NodeNext resolution does.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { transform } from 'esbuild';

const TYPESCRIPT = /\.m?ts$/;

/** The options tsconfig.base.json sets that change what esbuild emits. */
const tsconfigRaw = {
  compilerOptions: { verbatimModuleSyntax: true, useDefineForClassFields: true },
};

export async function resolve(specifier, context, nextResolve) {
  try {
    return await nextResolve(specifier, context);
  } catch (error) {
    const parent = context.parentURL;
    if (parent !== undefined && TYPESCRIPT.test(parent) && /^\.\.?\/.*\.m?js$/.test(specifier)) {
      const typescript = new URL(specifier.replace(/js$/, 'ts'), parent);
      if (existsSync(fileURLToPath(typescript))) return nextResolve(typescript.href, context);
    }
    throw error;
  }
}

export async function load(url, context, nextLoad) {
  if (!url.startsWith('file:') || !TYPESCRIPT.test(url)) return nextLoad(url, context);
  const path = fileURLToPath(url);
  const { code } = await transform(await readFile(path, 'utf8'), {
    loader: 'ts',
    format: 'esm',
    target: 'node20',
    sourcemap: 'inline',
    sourcefile: path,
    tsconfigRaw,
  });
  return { format: 'module', source: code, shortCircuit: true };
}
