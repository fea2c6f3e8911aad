import { isObject, type Json } from '../backend/json.js';

/**
 * Parses the events of a legacy stream, where each event repeats the whole message so far: when
 * an event is the previous one with only its text grown, the previous parse is reused and only
 * the appended text is decoded. A reply of n events then costs one full parse plus n string
 * comparisons (native, ~10x faster than `JSON.parse`) instead of n full parses; for a long answer
 * that is the difference between linear and quadratic parsing work.
 *
 * Exact by construction: the shortcut is taken only when the new event equals the previous one
 * with a valid JSON string fragment inserted at the end of the text literal, and then
 * `JSON.parse` would have given the very same value. Anything else is parsed in full.
 */
export class LegacySnapshots {
  /** The last snapshot parsed in full or extended. */
  #last: Snapshot | undefined;

  /** `JSON.parse(raw)`, by the shortcut when it applies; throws as `JSON.parse` does. */
  parse(raw: string): unknown {
    const extended = this.#extend(raw);
    if (extended !== undefined) return extended;
    const value: unknown = JSON.parse(raw);
    this.#last = remembered(raw, value);
    return value;
  }

  #extend(raw: string): Json | undefined {
    const last = this.#last;
    if (last === undefined) return undefined;
    const grown = raw.length - last.raw.length;
    if (grown < 0) return undefined;
    const { end } = last;
    // Sliced strings compared with `===` (a memory compare): `startsWith` walks them char by
    // char, as slow as the parse it would save.
    if (
      raw.slice(0, end) !== last.raw.slice(0, end) ||
      raw.slice(end + grown) !== last.raw.slice(end)
    ) {
      return undefined;
    }
    const appended = decodeFragment(raw.slice(end, end + grown));
    if (appended === undefined) return undefined;
    const text = last.text + appended;
    const value = withText(last.value, text);
    this.#last = { raw, value, text, end: end + grown };
    return value;
  }
}

/** A snapshot the next event may extend: its event, value, text, and where its text literal ends. */
interface Snapshot {
  raw: string;
  value: Json;
  text: string;
  /** The offset in `raw` of the quote closing the text literal. */
  end: number;
}

/** The text of a legacy snapshot (`message.content.parts[0]`), or undefined if it has none. */
function snapshotText(value: unknown): string | undefined {
  if (!isObject(value) || 'v' in value || 'o' in value || typeof value.type === 'string') {
    return undefined;
  }
  const message = value.message;
  if (!isObject(message) || !isObject(message.content)) return undefined;
  const parts = message.content.parts;
  return Array.isArray(parts) && typeof parts[0] === 'string' ? parts[0] : undefined;
}

const PARTS_KEY = /"parts"\s*:\s*\[\s*"/g;

/**
 * The snapshot the next event may extend, when `raw` is one: only when the literal is found unambiguously (one `"parts"` key: a
 * quote inside a string is always escaped, so the pattern matches keys only) and decodes to the
 * text `JSON.parse` gave.
 */
function remembered(raw: string, value: unknown): Snapshot | undefined {
  const text = snapshotText(value);
  if (text === undefined) return undefined;
  const matches = [...raw.matchAll(PARTS_KEY)];
  if (matches.length !== 1) return undefined;
  const start = (matches[0]?.index ?? 0) + (matches[0]?.[0].length ?? 0);
  const end = closingQuote(raw, start);
  if (end < 0 || decodeFragment(raw.slice(start, end)) !== text) return undefined;
  return { raw, value: value as Json, text, end };
}

/** The offset of the quote closing the string literal whose content starts at `from`, or -1. */
function closingQuote(raw: string, from: number): number {
  for (let at = raw.indexOf('"', from); at >= 0; at = raw.indexOf('"', at + 1)) {
    let backslashes = 0;
    while (raw.charCodeAt(at - 1 - backslashes) === 0x5c) backslashes += 1;
    if (backslashes % 2 === 0) return at;
  }
  return -1;
}

// eslint-disable-next-line no-control-regex
const NEEDS_DECODING = /["\\\u0000-\u001f]/;

/** The string a JSON string literal's content stands for, or undefined if it is not one. */
function decodeFragment(fragment: string): string | undefined {
  if (!NEEDS_DECODING.test(fragment)) return fragment;
  try {
    return JSON.parse(`"${fragment}"`) as string;
  } catch {
    return undefined;
  }
}

/** `value` with its text replaced: new objects along the path, everything else shared. */
function withText(value: Json, text: string): Json {
  const message = value.message as Json;
  const content = message.content as Json;
  const parts = [...(content.parts as unknown[])];
  parts[0] = text;
  return { ...value, message: { ...message, content: { ...content, parts } } };
}
