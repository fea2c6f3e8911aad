/**
 * `@chatgpt-rest/core/backend`: the ChatGPT web backend's wire protocol as this project knows it —
 * the shapes of its JSON bodies and stream messages, and its proof of work (both the client's
 * answer and the server's check). The core's upstream client speaks it; the emulator
 * (`@chatgpt-rest/emulator`) answers it. Types and pure functions only: importing this subpath
 * starts nothing.
 */
export type * from './types.js';
export * from './proof-of-work.js';
