/**
 * Deterministic replies: the same prompt and seed always give the same text, from a seeded PRNG
 * over a small word list, unless a scripted `reply` function is given. Texts are cut into tokens
 * (a word with its leading space) so that `maxTokens` and chunking have a stable unit.
 */
import { createHash } from 'node:crypto';

/** What a scripted reply function is told about the turn. */
export interface ReplyContext {
  model: string;
  conversationId: string;
  action: 'next' | 'variant';
  /** 0 for the first reply to this prompt in this conversation, 1 for the first regeneration… */
  variant: number;
  seed: number;
}

/** A scripted reply: returns the full text of the assistant's answer. */
export type ReplyFunction = (prompt: string, context: ReplyContext) => string;

const WORDS = (
  'the a of to and in is it that for on with as this be by are was at from or an have not ' +
  'model answer question system data value example result simple clear stream message reply ' +
  'token server client request test check order first next last small large quick slow ' +
  'bright calm green blue river mountain garden window paper music light story number'
).split(' ');

/** mulberry32: tiny, fast and good enough for deterministic filler text. */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function seedFor(prompt: string, seed: number, variant: number): number {
  return createHash('sha256')
    .update(`${seed}\u0000${variant}\u0000${prompt}`)
    .digest()
    .readUInt32LE(0);
}

/** A reply of `words` words drawn from the PRNG seeded by prompt, seed and variant. */
export function generateReply(prompt: string, seed: number, words: number, variant = 0): string {
  const random = mulberry32(seedFor(prompt, seed, variant));
  const out: string[] = [];
  for (let i = 0; i < words; i++) {
    const word = WORDS[Math.floor(random() * WORDS.length)] ?? 'word';
    out.push(i === 0 ? word.charAt(0).toUpperCase() + word.slice(1) : word);
  }
  return out.length === 0 ? '' : `${out.join(' ')}.`;
}

/** Cuts a text into tokens: each is a run of non-spaces with the whitespace before it. */
export function tokenize(text: string): string[] {
  return text.match(/\s*\S+|\s+$/g) ?? [];
}

/** Groups a text into stream chunks of `size` tokens or `size` characters (code points). */
export function chunkText(text: string, by: 'token' | 'char', size: number): string[] {
  const step = Math.max(1, Math.floor(size));
  const units = by === 'token' ? tokenize(text) : Array.from(text);
  const chunks: string[] = [];
  for (let i = 0; i < units.length; i += step) chunks.push(units.slice(i, i + step).join(''));
  return chunks;
}

/** A short title from the first words of a prompt, as `gen_title` and `title_generation` give. */
export function titleFor(prompt: string): string {
  const words = prompt
    .replace(/[^\p{L}\p{N}\s]/gu, ' ')
    .split(/\s+/)
    .filter(Boolean)
    .slice(0, 5);
  if (words.length === 0) return 'New chat';
  return words.map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join(' ');
}
