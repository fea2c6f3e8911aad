#!/usr/bin/env node
// The `chatgpt-backend-emulator` command. This small file is committed so that npm links the bin on
// `npm install`, before dist/ is built. It runs the built CLI, dist/testing/cli.js; in a checkout
// of the repository where dist/ is not built yet, it runs src/testing/cli.ts with tsx.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { constants } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';

const built = fileURLToPath(new URL('../dist/testing/cli.js', import.meta.url));
const source = fileURLToPath(new URL('../src/testing/cli.ts', import.meta.url));

/** tsx's loader, when it is installed (it is a devDependency of the repository). */
function tsxLoader() {
  try {
    return import.meta.resolve('tsx');
  } catch {
    return undefined;
  }
}

if (existsSync(built)) {
  // The CLI module runs itself when it is the process's main script.
  process.argv[1] = built;
  await import(pathToFileURL(built).href);
} else {
  const tsx = existsSync(source) ? tsxLoader() : undefined;
  if (tsx === undefined) {
    process.stderr.write(
      `chatgpt-backend-emulator: ${built} is missing; run \`npm run build\` first.\n`,
    );
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
