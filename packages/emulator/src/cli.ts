#!/usr/bin/env node
/**
 * `npm run emulator -- --port 8080 [--dialect legacy|web|both]`: runs the backend emulator
 * standalone and prints its base URL. Stops on SIGINT/SIGTERM.
 */
import { runIfMain } from '@chatgpt-rest/core/launch';
import { parseArgs } from 'node:util';
import { createBackendEmulator } from './emulator.js';
import type { BackendEmulatorOptions } from './types.js';
import { STREAM_PROFILES, type StreamProfile } from './frames.js';

const HELP = `Usage: chatgpt-backend-emulator [options]

Serves an emulator of the ChatGPT web backend under /backend-api.

Options:
  --port <n>             port to listen on (default 8080; 0 picks a free one)
  --host <addr>          interface to bind (default 127.0.0.1)
  --dialect <d>          legacy | web | both (default both)
  --profile <p>          v1 stream structure: ${STREAM_PROFILES.join(' | ')}
  --seed <n>             reply generator seed (default 1)
  --reply-words <n>      words per generated reply (default 40)
  --max-tokens <n>       cut replies after n tokens with finish_details max_tokens
  --pacing <ms>          delay between stream events (default 0)
  --difficulty <hex>     proof-of-work difficulty (default 0fffff)
  --no-pow               do not require a proof of work
  --turnstile            announce turnstile.required and refuse POSTs without a turnstile token
  --padding              pad data lines with trailing spaces like the captures
  -h, --help             show this help
`;

/** Parses the command line into emulator options; `help` when asked for it. */
export function parseCli(
  argv: string[],
): { help: true } | { help: false; options: BackendEmulatorOptions } {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      dialect: { type: 'string' },
      profile: { type: 'string' },
      seed: { type: 'string' },
      'reply-words': { type: 'string' },
      'max-tokens': { type: 'string' },
      pacing: { type: 'string' },
      difficulty: { type: 'string' },
      'no-pow': { type: 'boolean' },
      turnstile: { type: 'boolean' },
      padding: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help === true) return { help: true };
  const number = (name: string, value: string | undefined): number | undefined => {
    if (value === undefined) return undefined;
    const parsed = Number(value);
    if (!Number.isFinite(parsed) || parsed < 0) throw new Error(`--${name} must be a number`);
    return parsed;
  };
  const dialect = values.dialect ?? 'both';
  if (dialect !== 'legacy' && dialect !== 'web' && dialect !== 'both') {
    throw new Error('--dialect must be legacy, web or both');
  }
  const profile = values.profile;
  if (profile !== undefined && !STREAM_PROFILES.includes(profile as StreamProfile)) {
    throw new Error(`--profile must be one of ${STREAM_PROFILES.join(', ')}`);
  }
  return {
    help: false,
    options: {
      port: number('port', values.port) ?? 8080,
      host: values.host ?? '127.0.0.1',
      dialect,
      ...(profile !== undefined ? { streamProfile: profile as StreamProfile } : {}),
      seed: number('seed', values.seed) ?? 1,
      replyWords: number('reply-words', values['reply-words']) ?? 40,
      maxTokens: number('max-tokens', values['max-tokens']) ?? Number.POSITIVE_INFINITY,
      pacingMs: number('pacing', values.pacing) ?? 0,
      padding: values.padding === true,
      sentinel: {
        proofOfWork: {
          required: values['no-pow'] !== true,
          difficulty: values.difficulty ?? '0fffff',
        },
        turnstile: { required: values.turnstile === true, enforce: values.turnstile === true },
      },
    },
  };
}

/** Runs the CLI; resolves with the exit code once the emulator has stopped (or failed to start). */
export async function main(
  argv: string[],
  out: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
  stop: Promise<unknown> = new Promise((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  }),
): Promise<number> {
  let parsed: ReturnType<typeof parseCli>;
  try {
    parsed = parseCli(argv);
  } catch (error) {
    out(`${(error as Error).message}\n\n${HELP}`);
    return 2;
  }
  if (parsed.help) {
    out(HELP);
    return 0;
  }
  const emulator = await createBackendEmulator(parsed.options);
  out(
    `ChatGPT backend emulator (${parsed.options.dialect ?? 'both'}) listening on ${emulator.url}`,
  );
  await stop;
  await emulator.close();
  return 0;
}

// Run only when executed (npm script, bin symlink), not when imported by tests.
runIfMain(import.meta.url, main, (error) => String(error));
