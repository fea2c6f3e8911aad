#!/usr/bin/env node
// `node scripts/parallel.js typecheck lint:eslint lint:prettier build`: runs those npm scripts at
// the same time, prints each one's output in one piece when it ends (so logs do not interleave),
// and exits non-zero if any failed. `npm test` uses it for the checks that do not depend on each
// other; on a 2-core machine this takes the time of the longest check instead of their sum.
import { spawn } from 'node:child_process';

const scripts = process.argv.slice(2);
const npm = process.env.npm_execpath;

/** Runs one npm script; resolves with its exit code and combined output. */
function runScript(name) {
  const started = Date.now();
  // Under `npm run`, npm_execpath is npm's CLI: run it with this node, as npm itself does.
  const [command, args] =
    npm === undefined ? ['npm', ['run', name]] : [process.execPath, [npm, 'run', name]];
  return new Promise((resolve) => {
    const child = spawn(command, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      shell: npm === undefined && process.platform === 'win32',
    });
    const output = [];
    child.stdout.on('data', (chunk) => output.push(chunk));
    child.stderr.on('data', (chunk) => output.push(chunk));
    child.on('close', (code, signal) => {
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      resolve({ name, code: code ?? 1, signal, seconds, output: Buffer.concat(output) });
    });
  });
}

const results = await Promise.all(
  scripts.map((name) =>
    runScript(name).then((result) => {
      process.stdout.write(result.output);
      const status = result.code === 0 ? 'ok' : `failed (${result.signal ?? result.code})`;
      process.stdout.write(`\n> ${name}: ${status} in ${result.seconds} s\n\n`);
      return result;
    }),
  ),
);
const failed = results.filter((result) => result.code !== 0).map((result) => result.name);
if (failed.length > 0) {
  process.stderr.write(`failed: ${failed.join(', ')}\n`);
  process.exit(1);
}
