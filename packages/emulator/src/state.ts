/**
 * The state every part of a running emulator shares: settings, sentinel, tokens, conversations,
 * queued faults and the streams being written.
 */
import type { AccessTokens } from './access-tokens.js';
import type { ConversationStore } from './conversation-store.js';
import type { EmulatorSettings } from './types.js';
import type { FaultQueue } from './faults.js';
import type { Sentinel } from './sentinel.js';

/** One running emulator's shared state (created by `createBackendEmulator`). */
export interface EmulatorState {
  readonly settings: EmulatorSettings;
  readonly sentinel: Sentinel;
  readonly tokens: AccessTokens;
  readonly store: ConversationStore;
  readonly faults: FaultQueue;
  /** Message streams being written per access token (the "one at a time" rule). */
  readonly busy: Map<string, number>;
  /** Message streams being written in all. */
  inFlight: number;
}
