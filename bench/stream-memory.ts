/**
 * What one open stream costs a server, and what holds it (issue 15): `npm run bench:memory --
 * [kind] [streams]`. A server under test (`node` by default: the Node bridge; or passthrough,
 * fastify, express, koa, sidecar) in its own process in front of the emulator, whose replies
 * wait 30 s between events (half the mounts' 60 s idle limit, which would otherwise end the
 * first streams before the snapshot); N streaming asks are opened and held at their first
 * bytes. Reports the heap after a full GC and RSS, before and with the streams open, per stream
 * open at the snapshot, and the constructors that grew most (from two heap snapshots).
 */
import { readFileSync, rmSync } from 'node:fs';
import { request, Agent } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnChild } from './lib/ipc.js';
import type { Seeded } from './lib/types.js';

process.env.BENCH_EXPOSE_GC = '1';
const kind = process.argv[2] ?? 'node';
const count = Number(process.argv[3] ?? 1000);

interface Heap {
  heapUsed: number;
  rss: number;
  external: number;
  arrayBuffers: number;
  open: number;
}

/** Self size by constructor name, from a heap snapshot file. */
function byConstructor(file: string): Map<string, { count: number; bytes: number }> {
  const snap = JSON.parse(readFileSync(file, 'utf8')) as {
    snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
    nodes: number[];
    strings: string[];
  };
  const fields = snap.snapshot.meta.node_fields;
  const width = fields.length;
  const typeAt = fields.indexOf('type');
  const nameAt = fields.indexOf('name');
  const sizeAt = fields.indexOf('self_size');
  const types = snap.snapshot.meta.node_types[0];
  const out = new Map<string, { count: number; bytes: number }>();
  for (let i = 0; i < snap.nodes.length; i += width) {
    const type = types[snap.nodes[i + typeAt] ?? 0] ?? '?';
    const name =
      type === 'object' || type === 'closure'
        ? snap.strings[snap.nodes[i + nameAt] ?? 0]
        : `(${type})`;
    const key = name ?? '?';
    const entry = out.get(key) ?? { count: 0, bytes: 0 };
    entry.count++;
    entry.bytes += snap.nodes[i + sizeAt] ?? 0;
    out.set(key, entry);
  }
  return out;
}

function openStream(base: string, seeded: Seeded, agent: Agent): Promise<void> {
  return new Promise((resolve, reject) => {
    const raw = kind === 'passthrough';
    const body = raw
      ? JSON.stringify({
          action: 'next',
          model: 'auto',
          conversation_id: seeded.conversationId,
          parent_message_id: seeded.parentId,
          messages: [
            {
              id: crypto.randomUUID(),
              author: { role: 'user' },
              content: { content_type: 'text', parts: ['Go on.'] },
            },
          ],
        })
      : JSON.stringify({ prompt: 'Go on.', stream: true });
    const path = raw ? '/backend-api/conversation' : `/conversations/${seeded.conversationId}/ask`;
    const req = request(`${base}${path}`, {
      method: 'POST',
      agent,
      headers: { authorization: `Bearer ${seeded.token}`, 'content-type': 'application/json' },
    });
    req.on('response', (res) => {
      res.once('data', () => resolve());
      res.on('error', () => undefined);
    });
    req.on('error', reject);
    req.end(body);
  });
}

const emulator = await spawnChild('emulator-child.ts');
const tokens = Array.from({ length: count }, (_, i) => `memory-stream-${i}`);
const seeded = await emulator.call<Seeded[]>('seed', { rich: [], conversations: 0, bare: tokens });
await emulator.call('settings', {
  pacingMs: 30_000,
  chunk: { by: 'token', size: 30 },
  replyWords: 120,
});
const upstream = await emulator.call<string>('url');
const server = await spawnChild('server-child.ts', [
  JSON.stringify({ kind, upstream, cache: process.env.BENCH_CACHE !== '0' }),
]);
const base = await server.call<string>('url');
const agent = new Agent({ keepAlive: false, maxSockets: Infinity });
const dir = tmpdir();
const before = join(dir, `stream-memory-before-${process.pid}.heapsnapshot`);
const after = join(dir, `stream-memory-after-${process.pid}.heapsnapshot`);
// Warm up: one stream opened and left, so lazy modules and pools exist before the baseline.
await openStream(base, seeded[0] as Seeded, agent);
const idle = await server.call<Heap>('heap', { snapshot: before });
for (let i = 1; i < count; i += 100) {
  await Promise.all(seeded.slice(i, i + 100).map((s) => openStream(base, s, agent)));
}
const busy = await server.call<Heap>('heap', { snapshot: after });
/** Streams open at the snapshot (the warm-up one aside): what the growth is divided by. */
const opened = Math.max(1, busy.open - idle.open);
const per = (key: 'heapUsed' | 'rss' | 'external' | 'arrayBuffers'): string =>
  `${((busy[key] - idle[key]) / opened / 1024).toFixed(1)} KiB`;
console.log(`${kind}: ${busy.open} open responses (${count} streams)`);
for (const key of ['heapUsed', 'external', 'arrayBuffers', 'rss'] as const) {
  console.log(
    `  ${key.padEnd(12)} ${(idle[key] / 2 ** 20).toFixed(1)} MiB -> ${(busy[key] / 2 ** 20).toFixed(1)} MiB: ${per(key)} per stream`,
  );
}
const grown = byConstructor(after);
const base0 = byConstructor(before);
const rows = [...grown.entries()]
  .map(([name, v]) => ({
    name,
    count: v.count - (base0.get(name)?.count ?? 0),
    bytes: v.bytes - (base0.get(name)?.bytes ?? 0),
  }))
  .sort((a, b) => b.bytes - a.bytes)
  .slice(0, 25);
console.log('  grew most (self size per stream, objects per stream):');
for (const row of rows) {
  console.log(
    `    ${(row.bytes / opened).toFixed(0).padStart(7)} B  ${(row.count / opened).toFixed(1).padStart(6)}  ${row.name}`,
  );
}
if (process.env.BENCH_KEEP_SNAPSHOTS === '1') console.log(`  snapshots: ${before} ${after}`);
else rmSync(before, { force: true });
if (process.env.BENCH_KEEP_SNAPSHOTS !== '1') rmSync(after, { force: true });
await server.stop();
await emulator.stop();
process.exit(0);
