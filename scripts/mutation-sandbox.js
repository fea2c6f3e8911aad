// Stryker's build step (`buildCommand` in stryker.config.json), run once inside its sandbox copy
// of the repository (.stryker-tmp/sandbox-*). The sandbox gets no node_modules of its own
// (`symlinkNodeModules: false`), so packages resolve up the tree to the repository's; but there
// `@chatgpt-rest/*` are links to the repository's own packages/, and a test that imports a
// package by name would run the unmutated sources. This links `@chatgpt-rest/*` to the sandbox's
// packages instead, so every test, by relative path or by package name, runs the mutants.
import { existsSync, mkdirSync, readdirSync, symlinkSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = process.cwd();
if (
  !/[\\/]\.stryker-tmp[\\/]/.test(root) ||
  existsSync(join(root, 'node_modules', '@chatgpt-rest'))
) {
  process.stderr.write(
    'mutation-sandbox: run by Stryker inside its sandbox only (npm run mutation).\n',
  );
  process.exit(1);
}
const scope = join(root, 'node_modules', '@chatgpt-rest');
mkdirSync(scope, { recursive: true });
for (const name of readdirSync(join(root, 'packages'))) {
  symlinkSync(relative(scope, join(root, 'packages', name)), join(scope, name), 'dir');
}
symlinkSync(relative(scope, join(root, 'test', 'kit')), join(scope, 'test-kit'), 'dir');
process.stdout.write('mutation-sandbox: node_modules/@chatgpt-rest/* -> packages/*\n');
