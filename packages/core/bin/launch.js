// `@chatgpt-rest/core/launch`: what the committed bin files of the packages (`chatgpt-rest`,
// `chatgpt-backend-emulator`) share. A bin file is committed so that npm links it on
// `npm install`, before dist/ is built. It runs the built CLI; in a checkout of the repository
// where dist/ is not built yet, it runs the TypeScript source with tsx (a devDependency of the
// repository), passing stop signals on and exiting with the child's status.
import { spawn } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { constants } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** tsx's loader, when it is installed. */
function tsxLoader() {
  try {
    return import.meta.resolve('tsx');
  } catch {
    return undefined;
  }
}

/**
 * Runs a command's CLI module: `built` (a dist/ URL) when it exists, else `source` with tsx.
 * @param {string} name the command's name, for the one error line
 * @param {URL} builtUrl the built CLI module, which runs itself when it is the main script
 * @param {URL} sourceUrl the CLI's TypeScript source
 */
export async function launch(name, builtUrl, sourceUrl) {
  const built = fileURLToPath(builtUrl);
  const source = fileURLToPath(sourceUrl);
  if (existsSync(built)) {
    process.argv[1] = built;
    await import(pathToFileURL(built).href);
    return;
  }
  const tsx = existsSync(source) ? tsxLoader() : undefined;
  if (tsx === undefined) {
    process.stderr.write(`${name}: ${built} is missing; run \`npm run build\` first.\n`);
    process.exit(1);
  }
  const args = ['--conditions=@chatgpt-rest/source', '--import', tsx, source];
  const child = spawn(process.execPath, [...args, ...process.argv.slice(2)], { stdio: 'inherit' });
  // Ctrl-C already reaches the child (same process group); other stop signals are passed on.
  process.on('SIGINT', () => {});
  for (const signal of ['SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => {
    process.exit(code ?? 128 + (signal === null ? 0 : constants.signals[signal]));
  });
}

/**
 * Runs a CLI module's `main` when that module is the process's main script (npm script, bin
 * symlink, `launch`), not when a test imports it; exits with its status. A failure prints one
 * line made by `describe` (which decides what of the error may be shown) and exits 1.
 * @param {string} moduleUrl the CLI module's `import.meta.url`
 * @param {(argv: string[]) => Promise<number>} main
 * @param {(error: unknown) => string} describe
 */
export function runIfMain(moduleUrl, main, describe) {
  const script = process.argv[1];
  if (script === undefined || realpathSync(script) !== realpathSync(fileURLToPath(moduleUrl))) {
    return;
  }
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error) => {
      process.stderr.write(`${describe(error)}\n`);
      process.exit(1);
    },
  );
}
