// Module hooks that run the repository's TypeScript: amaro (the type stripper Node.js itself
// uses from v22.6) replaces each type annotation with spaces, file by file, so the code V8 runs
// has the very lines and columns of the source and coverage maps exactly, without source maps.
// No type check (`npm run typecheck` does that). A file with TypeScript-only runtime syntax (a
// parameter property, an enum) is compiled instead, with an inline source map. ts-node loads the whole TypeScript
// compiler into each test process; tsx and esbuild reprint the code, which skews coverage.
// A `./x.js` import from a TypeScript file finds `./x.ts`, as TypeScript's NodeNext resolution does.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { transformSync } from 'amaro';

const TYPESCRIPT = /\.m?ts$/;

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

/** The file's code with its types blanked out; transformed, with a source map, if it must be. */
function javascript(source, filename) {
  try {
    return transformSync(source, { mode: 'strip-only', filename }).code;
  } catch (error) {
    if (error?.code !== 'UnsupportedSyntax') throw error;
    // A parameter property or an enum: compile it (lines move; the inline map leads back).
    const { code, map } = transformSync(source, { mode: 'transform', sourceMap: true, filename });
    const inline = Buffer.from(map).toString('base64');
    return `${code}\n//# sourceMappingURL=data:application/json;base64,${inline}\n`;
  }
}

export async function load(url, context, nextLoad) {
  if (!url.startsWith('file:') || !TYPESCRIPT.test(url)) return nextLoad(url, context);
  const filename = fileURLToPath(url);
  const source = javascript(await readFile(filename, 'utf8'), filename);
  return { format: 'module', source, shortCircuit: true };
}
