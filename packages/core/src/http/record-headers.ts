/**
 * `Headers` over a record of lowercase names (taken from a message's headers as Node gives
 * them): reads and plain `set`s go to the record, and only what needs a real `Headers`
 * (iterating, appending to a name already there, a value `Headers` would refuse or change)
 * fills it, once. Filling a `Headers` costs ~0.35 µs a header in Node 20, and most of ours are
 * only ever looked up or written out whole by a Node writer ({@link unfilledRecord}). The record
 * is a `Map`: adding a name to a plain object at a site that sees many shapes took ~1 µs.
 *
 * Everyone else sees an ordinary `Headers`: the methods that walk or change it fill it first,
 * and `new Headers(h)`, `new Response(body, { headers: h })` and `fetch` read it through its
 * iterator.
 */

/** A header record as Node gives it: names lowercase, repeated headers as arrays. */
export type HeaderRecord = Record<string, string | string[] | undefined>;

/** The record of unfilled {@link RecordHeaders}: lowercase names, no pseudo-headers. */
export type HeaderMap = Map<string, string | string[]>;

/** A name `Headers` takes as it is (an RFC 9110 token), lowercase: no folding needed. */
const LOWER_TOKEN = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/;

/**
 * A value `Headers` stores unchanged: bytes only (no code point over U+00FF), no NUL, CR or LF,
 * no whitespace at either end.
 */
const PLAIN_VALUE =
  /^(?:[^\0\r\n\t \u0100-\uffff](?:[^\0\r\n\u0100-\uffff]*[^\0\r\n\t \u0100-\uffff])?)?$/;

const INSPECT = Symbol.for('nodejs.util.inspect.custom');

/** What `Headers` makes of a name or value given from JavaScript (typed or not): a string. */
function asText(value: unknown): string {
  return typeof value === 'string' ? value : String(value);
}

const base = Headers.prototype;

export class RecordHeaders extends Headers {
  #record: HeaderMap | undefined;

  /** Headers of `record`'s names and values (HTTP/2 pseudo-headers, `:path`…, left out). */
  constructor(record: HeaderRecord = {}) {
    super();
    const map: HeaderMap = new Map();
    for (const name of Object.keys(record)) {
      const value = record[name];
      // Pseudo-headers are not headers and `Headers` refuses them.
      if (value !== undefined && !name.startsWith(':')) map.set(name, value);
    }
    this.#record = map;
  }

  /** The record, until something made this a filled `Headers`. */
  get unfilled(): HeaderMap | undefined {
    return this.#record;
  }

  /** Makes this a filled `Headers` (a value `Headers` refuses is left out); once. */
  fill(): void {
    const record = this.#record;
    if (record === undefined) return;
    this.#record = undefined;
    for (const [name, value] of record) {
      try {
        if (Array.isArray(value)) for (const item of value) base.append.call(this, name, item);
        else base.append.call(this, name, value);
      } catch {
        // Not ours to repair: a value `Headers` refuses stays out, as the fill of a Response does.
      }
    }
  }

  /** The record's value for `name`, while there is a record. */
  lookup(name: string): string | string[] | undefined {
    const record = this.#record;
    if (record === undefined) return undefined;
    return record.get(LOWER_TOKEN.test(name) ? name : asText(name).toLowerCase());
  }

  /** Sets `name` in the record when `Headers` would store it unchanged; false if it did not. */
  setPlain(name: string, value: string): boolean {
    const record = this.#record;
    if (record === undefined || !LOWER_TOKEN.test(name) || !PLAIN_VALUE.test(value)) return false;
    record.set(name, value);
    return true;
  }
}

// `Headers`' methods are declared as properties in TypeScript's types, so they are replaced on
// the prototype rather than overridden in the class.
const filledFirst = ['getSetCookie', 'forEach', 'entries', 'keys', 'values'] as const;
const methods: Record<string, (this: RecordHeaders, ...args: never[]) => unknown> = {
  get(name: string) {
    const value = this.lookup(name);
    if (value === undefined) return base.get.call(this, name);
    return Array.isArray(value) ? value.join(', ') : value;
  },
  has(name: string) {
    return this.lookup(name) !== undefined || base.has.call(this, name);
  },
  set(name: string, value: string) {
    if (this.setPlain(name, asText(value))) return;
    this.fill();
    base.set.call(this, name, value);
  },
  append(name: string, value: string) {
    if (this.lookup(name) === undefined && this.setPlain(name, asText(value))) return;
    this.fill();
    base.append.call(this, name, value);
  },
  delete(name: string) {
    const record = this.unfilled;
    if (record !== undefined && LOWER_TOKEN.test(name)) {
      record.delete(name);
      return;
    }
    this.fill();
    base.delete.call(this, name);
  },
  [Symbol.iterator as unknown as string]() {
    this.fill();
    return base.entries.call(this);
  },
};
for (const name of filledFirst) {
  const original = base[name] as (...args: unknown[]) => unknown;
  methods[name] = function (this: RecordHeaders, ...args: unknown[]) {
    this.fill();
    return original.apply(this, args);
  };
}
const inspect = (base as unknown as Record<symbol, unknown>)[INSPECT];
if (typeof inspect === 'function') {
  methods[INSPECT as unknown as string] = function (this: RecordHeaders, ...args: unknown[]) {
    this.fill();
    return (inspect as (...a: unknown[]) => unknown).apply(this, args);
  };
}
for (const key of Reflect.ownKeys(methods)) {
  Object.defineProperty(RecordHeaders.prototype, key, {
    configurable: true,
    writable: true,
    value: methods[key as string],
  });
}

/**
 * The record behind `headers` when they are {@link RecordHeaders} nobody filled: a Node writer
 * sets them from it as they are (names lowercase, values as Node or our code gave them).
 */
export function unfilledRecord(headers: Headers): HeaderMap | undefined {
  return headers instanceof RecordHeaders ? headers.unfilled : undefined;
}

/**
 * The entries of `headers` as iterating a `Headers` gives them (set-cookie once per cookie, other
 * repeated values joined), straight from the record of unfilled {@link RecordHeaders}.
 */
export function headerPairs(headers: Headers): [name: string, value: string][] {
  const record = unfilledRecord(headers);
  if (record === undefined) return [...headers];
  const pairs: [string, string][] = [];
  for (const [name, value] of record) {
    if (!Array.isArray(value)) pairs.push([name, value]);
    else if (name === 'set-cookie') for (const cookie of value) pairs.push([name, cookie]);
    else pairs.push([name, value.join(', ')]);
  }
  return pairs;
}
