#!/usr/bin/env node
// The `chatgpt-rest` command: runs dist/cli.js (or src/cli.ts in an unbuilt checkout).
import { launch } from '@chatgpt-rest/core/launch';

await launch(
  'chatgpt-rest',
  new URL('../dist/cli.js', import.meta.url),
  new URL('../src/cli.ts', import.meta.url),
);
