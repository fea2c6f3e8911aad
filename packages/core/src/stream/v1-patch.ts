/**
 * The `v1` delta encoding of the ChatGPT backend: operations on a state object whose root is
 * `{message, conversation_id, …}`. The state is a private document changed in place: applying an
 * operation costs the depth of its path plus the size of its value, never the size of what was
 * accumulated (copying the containers on the path made long streams quadratic: 4,000 object
 * merges took seconds). So the caller owns the state it passes, and an operation's value becomes
 * part of it. The functions return the state's new root (the same object unless the root itself
 * was replaced). Odd input is ignored, never thrown; `__proto__` keys stay plain keys.
 */
import { isObject, type Json } from '../backend/json.js';

/** One operation with its path `p`, operation `o` and value `v`, as resolved from the stream. */
export interface V1Operation {
  p: string;
  o: string;
  v: unknown;
}

/** The path and operation a bare `{"v": …}` repeats. */
export interface V1Cursor {
  p: string;
  o: string;
}

/** What {@link applyV1Delta} returns: the new state, the cursor for the next delta, the ops applied. */
export interface V1DeltaResult {
  state: unknown;
  cursor: V1Cursor;
  /** The single operations applied, with a `patch` flattened into its parts, in order. */
  applied: V1Operation[];
}

/** The cursor before the first delta: a bare `{"v": {message…}}` adds a message at the root. */
export const INITIAL_V1_CURSOR: V1Cursor = Object.freeze({ p: '', o: 'add' });

/** Splits a JSON-pointer-ish path (`/message/content/parts/0`) into keys; `""` is the root. */
export function parseV1Path(path: string): string[] {
  if (path === '' || path === '/') return [];
  const raw = path.startsWith('/') ? path.slice(1) : path;
  return raw.split('/').map((key) => key.replaceAll('~1', '/').replaceAll('~0', '~'));
}

/**
 * The most keys a path may have. Real paths have a handful (`/message/content/parts/0`,
 * `/message/metadata/citations/3/start_ix`); a deeper one is odd input, ignored like a path
 * through a string, rather than an error: it also keeps {@link updateIn}'s recursion, one call
 * per key, shallow (a 200 KB path of 100,000 keys overflowed the stack).
 */
export const MAX_V1_PATH_DEPTH = 32;

/** True when `path` has more than {@link MAX_V1_PATH_DEPTH} keys; looks at that many at most. */
function isTooDeep(path: string): boolean {
  let keys = path.startsWith('/') ? 0 : 1;
  for (let at = path.indexOf('/'); at >= 0; at = path.indexOf('/', at + 1)) {
    if (++keys > MAX_V1_PATH_DEPTH) return true;
  }
  return false;
}

/**
 * Parsed paths: a stream repeats a handful of paths thousands of times. Bounded in entries and in
 * their length, as the cache outlives streams: real paths are short, while a path may be as long
 * as a line (4 MiB), and 256 such held 1 GiB and more for good. Never shared out.
 */
const pathCache = new Map<string, readonly string[]>();
const MAX_CACHED_PATHS = 256;
const MAX_CACHED_PATH_LENGTH = 256;

/** The keys of `path`, or undefined when it is too deep to apply. */
function keysOf(path: string): readonly string[] | undefined {
  let keys = pathCache.get(path);
  if (keys === undefined) {
    if (isTooDeep(path)) return undefined;
    keys = parseV1Path(path);
    if (path.length > MAX_CACHED_PATH_LENGTH) return keys;
    if (pathCache.size >= MAX_CACHED_PATHS) pathCache.clear();
    pathCache.set(path, keys);
  }
  return keys;
}

/** An array index for `key`, `length` for `-` (JSON Pointer's "past the end"), or undefined. */
function arrayIndex(key: string, length: number): number | undefined {
  if (key === '-') return length;
  return /^(0|[1-9]\d*)$/.test(key) ? Number(key) : undefined;
}

/** An own property only: `__proto__`, `constructor` and the like never reach the prototype. */
function getOwn(node: Json, key: string): unknown {
  return Object.hasOwn(node, key) ? node[key] : undefined;
}

/** Sets an own data property; a `__proto__` key stays a plain key instead of a prototype. */
function setOwn(node: Json, key: string, value: unknown): void {
  if (key === '__proto__') {
    Object.defineProperty(node, key, {
      value,
      writable: true,
      enumerable: true,
      configurable: true,
    });
  } else node[key] = value;
}

/**
 * `append`: strings concatenate, arrays take the value's items (or the value), objects merge.
 * Arrays and objects grow in place, at the cost of the value, not of what they already hold.
 */
function appendValue(current: unknown, value: unknown): unknown {
  if (current === undefined || current === null) return value;
  if (typeof current === 'string') return typeof value === 'string' ? current + value : current;
  if (Array.isArray(current)) {
    const items: unknown[] = Array.isArray(value) ? value : [value];
    // A loop, not push(...items): a spread of a huge array overflows the stack.
    for (let i = 0, n = items.length; i < n; i++) current.push(items[i]);
    return current;
  }
  if (isObject(current)) {
    if (isObject(value)) for (const key of Object.keys(value)) setOwn(current, key, value[key]);
    return current;
  }
  return current;
}

/** `truncate`: a string or array shortened to `value` items (an array in place). */
function truncateValue(current: unknown, value: unknown): unknown {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) return current;
  if (typeof current === 'string') return current.slice(0, value);
  if (Array.isArray(current) && value < current.length) current.length = value;
  return current;
}

const REMOVE = Symbol('remove');
type Leaf = (current: unknown) => unknown;

/**
 * Items one stream's array inserts and removals may move, 64 Mi (tens of milliseconds of
 * copying). Each moves the items after its index: 2 million inserts at index 0, which the reply's
 * data budget allows at 8 characters each, would have held the event loop for minutes. Real
 * streams add only at the root, and append.
 */
export const MAX_V1_SHIFTED = 64 * 1024 * 1024;

/** What one stream's operations have moved in arrays; past the bound, they are skipped. */
export class V1Work {
  shifted = 0;
  /** True once an operation was skipped for the bound: the caller fails the stream. */
  exceeded = false;

  constructor(readonly maxShifted = MAX_V1_SHIFTED) {}

  /** Counts `items` moved; false (and `exceeded`) when that passes the bound. */
  allow(items: number): boolean {
    if (this.shifted + items > this.maxShifted) this.exceeded = true;
    else this.shifted += items;
    return !this.exceeded;
  }
}

/** Puts `next` at `index` of an array in place: set, insert (`add`) or remove. */
function updateArray(
  node: unknown[],
  index: number,
  old: unknown,
  next: unknown,
  insert: boolean,
  work: V1Work,
): void {
  if (next === REMOVE) {
    if (index < node.length && work.allow(node.length - index - 1)) node.splice(index, 1);
  } else if (insert) {
    if (work.allow(node.length - index)) node.splice(index, 0, next);
  } else if (next !== old) node[index] = next;
}

/**
 * Walks `keys` (from `depth` on) and puts `leaf(old)` at the end, changing the containers on the
 * way in place; `REMOVE` deletes the key. `insert` makes an array index shift the items after it
 * (JSON Patch `add`) instead of overwriting. Returns the node for its parent: the same container,
 * or a new value (a leaf, or a container created for a missing one). A path through a string or
 * number, or a bad index, changes nothing.
 */
function updateIn(
  node: unknown,
  keys: readonly string[],
  depth: number,
  leaf: Leaf,
  insert: boolean,
  work: V1Work,
): unknown {
  const key = keys[depth];
  if (key === undefined) return leaf(node);
  const isLast = depth === keys.length - 1;
  if (Array.isArray(node)) {
    const index = arrayIndex(key, node.length);
    if (index === undefined || index > node.length) return node;
    const old: unknown = node[index];
    const next = isLast ? leaf(old) : updateIn(old, keys, depth + 1, leaf, insert, work);
    updateArray(node, index, old, next, insert && isLast, work);
    return node;
  }
  if (node === undefined || node === null || isObject(node)) {
    const base: Json = node ?? {};
    const old = getOwn(base, key);
    // A missing container on the way is created, as an array when the next key is an index.
    const nextKey = keys[depth + 1];
    const child =
      old === undefined && nextKey !== undefined && arrayIndex(nextKey, 0) === 0 ? [] : old;
    const next = isLast ? leaf(old) : updateIn(child, keys, depth + 1, leaf, insert, work);
    if (next === old) return node;
    if (next === REMOVE) Reflect.deleteProperty(base, key);
    else setOwn(base, key, next);
    return base;
  }
  return node;
}

/**
 * Applies one operation to `state` in place and returns its root; unknown operations, paths
 * deeper than {@link MAX_V1_PATH_DEPTH} and array shifts past `work`'s bound change nothing.
 */
export function applyV1Operation(
  state: unknown,
  op: V1Operation,
  work: V1Work = new V1Work(),
): unknown {
  const { v } = op;
  // A patch's items carry their own paths, from the root.
  if (op.o === 'patch') return applyPatchList(state, v, [], work);
  const keys = keysOf(op.p);
  if (keys === undefined) return state;
  switch (op.o) {
    case 'append':
      return updateIn(state, keys, 0, (current) => appendValue(current, v), false, work);
    case 'replace':
      return updateIn(state, keys, 0, () => v, false, work);
    case 'add':
      return updateIn(state, keys, 0, () => v, true, work);
    case 'remove':
      return keys.length === 0 ? {} : updateIn(state, keys, 0, () => REMOVE, false, work);
    case 'truncate':
      return updateIn(state, keys, 0, (current) => truncateValue(current, v), false, work);
    default:
      return state;
  }
}

/**
 * Applies the items of a `patch` list in order, recording each applied operation. A `patch` item's
 * list is applied in its place, walked with a stack of lists rather than by recursion: the
 * upstream may nest them as deep as a line allows (100,000 deep overflowed the call stack).
 */
function applyPatchList(
  state: unknown,
  list: unknown,
  applied: V1Operation[],
  work: V1Work,
): unknown {
  if (!Array.isArray(list)) return state;
  let next = state;
  const lists: { items: unknown[]; at: number }[] = [{ items: list, at: 0 }];
  for (let top = lists.at(-1); top !== undefined; top = lists.at(-1)) {
    if (top.at === top.items.length) {
      lists.pop();
      continue;
    }
    const item = top.items[top.at++];
    if (!isObject(item) || typeof item.o !== 'string') continue;
    const op: V1Operation = { p: typeof item.p === 'string' ? item.p : '', o: item.o, v: item.v };
    // Patch items carry paths from the root, as every capture shows, not from the outer `p`.
    if (op.o !== 'patch') {
      next = applyV1Operation(next, op, work);
      applied.push(op);
    } else if (Array.isArray(op.v)) lists.push({ items: op.v, at: 0 });
  }
  return next;
}

/**
 * Applies one `v1` delta event (`{p, o, v}`, `{o: "patch", v: [...]}` or a bare `{v}` repeating
 * the cursor's path and operation). A bare `{v: {message…}, c}` starts a new message at the root,
 * whatever the cursor, because `c` counts messages. Returns the new state, cursor and applied ops.
 * `work` counts the stream's array shifts: pass the same one for every delta of a stream.
 */
export function applyV1Delta(
  state: unknown,
  delta: unknown,
  cursor: V1Cursor,
  work: V1Work = new V1Work(),
): V1DeltaResult {
  if (!isObject(delta) || !('v' in delta || 'o' in delta)) return { state, cursor, applied: [] };
  const hasPath = typeof delta.p === 'string';
  const hasOp = typeof delta.o === 'string';
  const startsMessage =
    !hasPath &&
    !hasOp &&
    (typeof delta.c === 'number' || (isObject(delta.v) && isObject(delta.v.message)));
  const next: V1Cursor = startsMessage
    ? INITIAL_V1_CURSOR
    : {
        p: hasPath ? (delta.p as string) : cursor.p,
        o: hasOp ? (delta.o as string) : cursor.o,
      };
  const applied: V1Operation[] = [];
  let result: unknown;
  if (next.o === 'patch') result = applyPatchList(state, delta.v, applied, work);
  else {
    const op: V1Operation = { p: next.p, o: next.o, v: delta.v };
    result = applyV1Operation(state, op, work);
    applied.push(op);
  }
  return { state: result, cursor: next, applied };
}
