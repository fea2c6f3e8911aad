// The test command of `npm run mutation` (stryker.config.json): imports the given tap test files
// into ONE Node.js process, so each mutant costs one process start instead of one per file (the
// CPU of a tap run is mostly its per-file processes; this machine has two cores). tap's standalone
// mode runs the files' tests in order and sets a failing exit code on the first failure
// (TAP_BAIL); its coverage and reporters are not involved.
// Usage: node --import=./scripts/ts-loader.js --conditions=@chatgpt-rest/source \
//          scripts/mutation-tests.js <test file>...
import { pathToFileURL } from 'node:url';

process.env.TAP_BAIL ??= '1';
const files = process.argv.slice(2);
if (files.length === 0) {
  process.stderr.write('mutation-tests: name the test files to run\n');
  process.exit(2);
}
for (const file of files) await import(pathToFileURL(file).href);
