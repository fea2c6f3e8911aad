/**
 * JSON as the backend (a Python service) writes it: `", "` and `": "` separators and every
 * non-ASCII character escaped as `\uXXXX`, emoji as surrogate pairs. Old clients depend on the
 * escaping (revChatGPT drops lines holding raw UTF-8), so the emulator writes exactly this.
 */

/** Escapes every UTF-16 code unit above 0x7f of an already-serialised JSON text. */
export function escapeNonAscii(json: string): string {
  return json.replace(
    /[\u0080-\uffff]/g,
    (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

function serialise(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (Array.isArray(value)) return `[${value.map((item) => serialise(item)).join(', ')}]`;
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(
      ([, v]) => v !== undefined,
    );
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}: ${serialise(v)}`).join(', ')}}`;
  }
  if (typeof value === 'number' && !Number.isFinite(value)) return 'null';
  return JSON.stringify(value);
}

/** Serialises a value the way the backend does (Python separators, ASCII-only). */
export function pythonJson(value: unknown): string {
  return escapeNonAscii(serialise(value));
}
