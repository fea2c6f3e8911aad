/**
 * Reads an SSE text into events and describes its structure without its content: the kind of each
 * event and the field names at each level. The fidelity tests compare the emulator's streams with
 * real captures through it; users can compare their own captures the same way.
 */

/** One SSE block. */
export interface SseBlock {
  event: string | undefined;
  /** The `data:` lines joined by `\n`; undefined for comment-only blocks. */
  data: string | undefined;
  comments: string[];
}

/** Splits an SSE text into blocks; accepts LF, CRLF and CR line endings and trailing spaces. */
export function parseSse(text: string): SseBlock[] {
  const blocks: SseBlock[] = [];
  let current: SseBlock = { event: undefined, data: undefined, comments: [] };
  const flush = () => {
    if (current.event !== undefined || current.data !== undefined || current.comments.length > 0) {
      blocks.push(current);
    }
    current = { event: undefined, data: undefined, comments: [] };
  };
  for (const line of text.split(/\r\n|\r|\n/)) {
    if (line === '') {
      flush();
      continue;
    }
    if (line.startsWith(':')) {
      current.comments.push(line.slice(1).trim());
      continue;
    }
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'event') current.event = value.trim();
    if (field === 'data') {
      current.data =
        current.data === undefined ? value.trimEnd() : `${current.data}\n${value.trimEnd()}`;
    }
  }
  flush();
  return blocks;
}

/** The kind and parsed data of one block. */
export interface ShapedEvent {
  kind: string;
  json: unknown;
}

function opsOf(list: unknown[]): string {
  return list
    .map((op) => {
      const o = op as { o?: unknown; p?: unknown };
      return `${String(o.o)}:${String(o.p)}`;
    })
    .join(',');
}

/**
 * Names the kind of a block: `delta_encoding`, `comment`, `done`, `empty`, `side:<type>`,
 * `delta:add(<role>)`, `delta:append(<path>)`, `delta:replace(<path>)`, `delta:bare`,
 * `delta:patch[<op:path>,…]`, `delta:bare-patch[…]`, `legacy:<role>`, `legacy:error`, `text`.
 */
export function eventKind(block: SseBlock): ShapedEvent {
  if (block.data === undefined) return { kind: 'comment', json: undefined };
  if (block.data === '[DONE]') return { kind: 'done', json: undefined };
  if (block.data === '') return { kind: 'empty', json: undefined };
  let json: unknown;
  try {
    json = JSON.parse(block.data);
  } catch {
    return { kind: 'text', json: undefined };
  }
  if (block.event === 'delta_encoding' || typeof json === 'string') {
    return { kind: 'delta_encoding', json };
  }
  const object = (json ?? {}) as Record<string, unknown>;
  if (typeof object.type === 'string') return { kind: `side:${object.type}`, json };
  const v: unknown = object.v;
  if ('v' in object) {
    if (typeof v === 'object' && v !== null && !Array.isArray(v) && 'message' in v) {
      const role = (v.message as { author?: { role?: string } } | null)?.author?.role;
      return { kind: `delta:add(${String(role)})`, json };
    }
    if (Array.isArray(v)) {
      return { kind: `delta:${object.o === 'patch' ? 'patch' : 'bare-patch'}[${opsOf(v)}]`, json };
    }
    if (object.o === undefined) return { kind: 'delta:bare', json };
    return {
      kind: `delta:${JSON.stringify(object.o)}(${JSON.stringify(object.p)})`.replace(/"/g, ''),
      json,
    };
  }
  if ('message' in object) {
    if (object.message === null) return { kind: 'legacy:error', json };
    const message = object.message as { author?: { role?: string }; role?: string };
    return { kind: `legacy:${String(message.author?.role ?? message.role)}`, json };
  }
  return { kind: 'unknown', json };
}

/** Every key path of a JSON value (`a.b`, arrays as `a[]`), for comparing field names. */
export function keyPaths(value: unknown, prefix = ''): string[] {
  if (Array.isArray(value)) {
    const inner = new Set<string>();
    for (const item of value) for (const path of keyPaths(item, `${prefix}[]`)) inner.add(path);
    return [...inner];
  }
  if (typeof value !== 'object' || value === null) return [];
  const paths: string[] = [];
  for (const [key, child] of Object.entries(value)) {
    const path = prefix === '' ? key : `${prefix}.${key}`;
    paths.push(path, ...keyPaths(child, path));
  }
  return paths;
}

/** One step of a stream's structure: a kind and the union of field names of its events. */
export interface ShapeStep {
  kind: string;
  fields: string[];
  count: number;
}

/**
 * The structure of a stream: kinds in order, runs of the same kind collapsed into one step
 * (text-delta counts depend on text length), with the union of key paths of the run.
 */
export function streamShape(text: string): ShapeStep[] {
  const steps: ShapeStep[] = [];
  for (const block of parseSse(text)) {
    const { kind, json } = eventKind(block);
    const fields = keyPaths(json);
    const last = steps.at(-1);
    if (last?.kind === kind) {
      last.fields = [...new Set([...last.fields, ...fields])].sort();
      last.count += 1;
    } else {
      steps.push({ kind, fields: [...new Set(fields)].sort(), count: 1 });
    }
  }
  return steps;
}
