// `node --import=./scripts/ts-loader.js file.ts`: runs TypeScript with its types blanked out
// (see ts-loader-hooks.js). tap uses it for the tests (.taprc node-arg).
import { register } from 'node:module';

register('./ts-loader-hooks.js', import.meta.url);
