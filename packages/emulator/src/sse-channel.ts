/**
 * Writes Server-Sent Events to a response with the emulator's delivery options: line endings,
 * one write per byte, pacing. It respects back-pressure (waits for 'drain') and never throws when
 * the client has gone: every write reports whether the client is still there.
 */
import type { ServerResponse } from 'node:http';

/** One unit of a stream. `textEnd` marks how much assistant text the client has after it. */
export type Frame =
  | { kind: 'event'; event?: string; data: string; textEnd?: number }
  | { kind: 'comment'; text: string }
  | { kind: 'raw'; text: string };

/** How frames are put on the wire. */
export interface ChannelOptions {
  lineEnding: '\n' | '\r\n' | '\r';
  splitBytes: boolean;
  pacingMs: number;
  /** Pad `data:` lines with trailing spaces, as the captures show. */
  padding: boolean;
}

/** Serialises one frame (without pacing or splitting). */
export function serializeFrame(
  frame: Frame,
  options: Pick<ChannelOptions, 'lineEnding' | 'padding'>,
  index = 0,
): string {
  const eol = options.lineEnding;
  if (frame.kind === 'raw') return frame.text.replace(/\n/g, eol);
  if (frame.kind === 'comment') return `: ${frame.text}${eol}${eol}`;
  // Deterministic padding (0-6 spaces) so streams stay reproducible.
  const pad = options.padding && frame.data.startsWith('{') ? ' '.repeat((index * 3) % 7) : '';
  const head = frame.event !== undefined ? `event: ${frame.event}${eol}` : '';
  return `${head}data: ${frame.data}${pad}${eol}${eol}`;
}

/** A stream being written to one response. */
export class SseChannel {
  readonly #res: ServerResponse;
  readonly #options: ChannelOptions;
  #written = 0;

  constructor(res: ServerResponse, options: ChannelOptions) {
    this.#res = res;
    this.#options = options;
  }

  /** True once the response can no longer be written (client gone or socket destroyed). */
  get gone(): boolean {
    return this.#res.destroyed || this.#res.writableEnded;
  }

  /** Frames written so far. */
  get written(): number {
    return this.#written;
  }

  /** Waits `ms`, returning early when the client leaves. */
  async pause(ms: number): Promise<void> {
    if (ms <= 0 || this.gone) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#res.off('close', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#res.once('close', done);
    });
  }

  /** Waits until the client leaves (a stall without end). */
  async untilGone(): Promise<void> {
    if (this.gone) return;
    await new Promise<void>((resolve) => this.#res.once('close', () => resolve()));
  }

  async #writeChunk(chunk: string | Buffer): Promise<boolean> {
    if (this.gone) return false;
    if (!this.#res.write(chunk)) {
      await new Promise<void>((resolve) => {
        const done = () => {
          this.#res.off('drain', done);
          this.#res.off('close', done);
          resolve();
        };
        this.#res.once('drain', done);
        this.#res.once('close', done);
      });
    }
    return !this.gone;
  }

  /** Writes text, byte by byte when asked; false when the client has gone. */
  async writeText(text: string): Promise<boolean> {
    if (!this.#options.splitBytes) return this.#writeChunk(text);
    const bytes = Buffer.from(text, 'utf8');
    for (let i = 0; i < bytes.length; i++) {
      if (!(await this.#writeChunk(bytes.subarray(i, i + 1)))) return false;
      // Yield to the event loop so each byte leaves in its own TCP write.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    return !this.gone;
  }

  /** Writes one frame after the pacing delay; false when the client has gone. */
  async write(frame: Frame): Promise<boolean> {
    if (this.#written > 0) await this.pause(this.#options.pacingMs);
    const ok = await this.writeText(serializeFrame(frame, this.#options, this.#written));
    if (ok) this.#written += 1;
    return ok;
  }
}
