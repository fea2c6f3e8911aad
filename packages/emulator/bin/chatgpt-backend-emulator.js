#!/usr/bin/env node
// The `chatgpt-backend-emulator` command: runs dist/cli.js (or src/cli.ts in an unbuilt checkout).
import { launch } from '@chatgpt-rest/core/launch';

await launch(
  'chatgpt-backend-emulator',
  new URL('../dist/cli.js', import.meta.url),
  new URL('../src/cli.ts', import.meta.url),
);
