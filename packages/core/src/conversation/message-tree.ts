import type { BackendConversation, BackendMessage, MappingNode } from '../backend/types.js';
import { isForEveryone, messageRole, messageText, toReply, type ThreadMessage } from './reply.js';
import { jsonText } from '../http/json-text.js';

/** The path from `current_node` (or `leaf`) up to the root, oldest first. */
export function currentBranch(conversation: BackendConversation, leaf?: string): MappingNode[] {
  const branch: MappingNode[] = [];
  const seen = new Set<string>();
  let id: string | null | undefined = leaf ?? conversation.current_node;
  while (id != null && !seen.has(id)) {
    seen.add(id);
    const node: MappingNode | undefined = conversation.mapping[id];
    if (node === undefined) break;
    branch.push(node);
    id = node.parent;
  }
  return branch.reverse();
}

/**
 * True for the messages a person sees in the web app: user and assistant messages addressed to
 * everyone, not hidden, not reasoning (`channel` other than final), and not empty.
 */
export function isVisibleMessage(message: BackendMessage): boolean {
  const role = messageRole(message);
  if (role !== 'user' && role !== 'assistant') return false;
  return isForEveryone(message) && messageText(message).trim() !== '';
}

/**
 * A UTC time that needs no calendar to rewrite (Date.parse costs ~1 us, ~20 per list): days up
 * to the 28th and hours within the day, so the text is what `Date` would give (it rolls a 30
 * February or a 24:00 over into the next day); anything else goes through `Date`.
 */
const UTC_TIME =
  /^(\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|1\d|2[0-8])T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d)(?:\.(\d{1,6}))?(?:Z|\+00:00)$/;

/**
 * A time as ISO 8601 with `Z`, whether the upstream gave epoch seconds (trees) or a Python
 * `isoformat()` string such as `2026-12-02T00:13:45.256000+00:00` (lists): one format everywhere.
 */
export function isoTime(value: unknown): string | null {
  if (typeof value === 'number') {
    // Past Date's range (±8.64e12 s) toISOString throws: such a time is no time.
    const date = new Date(value * 1000);
    return Number.isNaN(date.getTime()) ? null : date.toISOString();
  }
  if (typeof value !== 'string') return null;
  const utc = UTC_TIME.exec(value);
  if (utc !== null) return `${utc[1]}.${(utc[2] ?? '').padEnd(3, '0').slice(0, 3)}Z`;
  const parsed = Date.parse(value);
  return Number.isNaN(parsed) ? value : new Date(parsed).toISOString();
}

/** The `/messages` list: the visible messages of the current branch, oldest first. */
export function threadMessages(conversation: BackendConversation, id: string): ThreadMessage[] {
  const list: ThreadMessage[] = [];
  for (const node of currentBranch(conversation)) {
    const message = node.message;
    if (message == null || !isVisibleMessage(message)) continue;
    list.push({ ...toReply(message, id), create_time: isoTime(message.create_time) });
  }
  return list;
}

/** The length of `value`'s JSON, the unit the cache counts bytes in (0 for `undefined`). */
export function jsonLength(value: unknown): number {
  return (jsonText(value) as string | undefined)?.length ?? 0;
}

/** What `"key":value,` adds to the JSON of an object that has other members (0 if left out). */
function memberLength(key: string, value: unknown): number {
  return value === undefined ? 0 : jsonLength(key) + 1 + jsonLength(value) + 1;
}

/** True when `object` has a member its JSON shows (a walk over it: for malformed trees only). */
function hasMembers(object: object): boolean {
  for (const value of Object.values(object)) if (value !== undefined) return true;
  return false;
}

/** The node of `id`, an own key only (an id such as `constructor` is not the prototype's). */
function nodeOf(conversation: BackendConversation, id: string): MappingNode | undefined {
  return Object.hasOwn(conversation.mapping, id) ? conversation.mapping[id] : undefined;
}

/** Puts `node` in the mapping as an own, enumerable key, whatever its id (even `__proto__`). */
function putNode(conversation: BackendConversation, node: MappingNode): void {
  const property = { value: node, writable: true, enumerable: true, configurable: true };
  Object.defineProperty(conversation.mapping, node.id, property);
}

/**
 * Sets a top-level field of a conversation in place (it always has other members, `mapping`);
 * returns by how much its JSON grew.
 */
function setField(conversation: BackendConversation, key: string, value: unknown): number {
  const before = Object.hasOwn(conversation, key) ? memberLength(key, conversation[key]) : 0;
  conversation[key] = value;
  return memberLength(key, value) - before;
}

/** Adds `childId` to the children of `parentId` (a bare node when unknown); the JSON's growth. */
function adopt(conversation: BackendConversation, parentId: string, childId: string): number {
  const parent = nodeOf(conversation, parentId);
  if (parent === undefined) {
    const node: MappingNode = { id: parentId, parent: null, children: [childId] };
    putNode(conversation, node);
    return memberLength(parentId, node); // The mapping already holds the child.
  }
  const grown = jsonLength(childId) + (parent.children.length > 0 ? 1 : 0);
  parent.children.push(childId);
  return grown;
}

/**
 * Places `message` in the tree, in place, under `parentId` (or replacing the node of the same
 * id, which keeps its place), and makes it the current node. Returns by how much the tree's JSON
 * grew, so that a cache can track a tree's size without serialising it: the work is that of the
 * one node, whatever the size of the tree.
 */
export function addMessage(
  conversation: BackendConversation,
  message: BackendMessage,
  parentId: string | null,
): number {
  const existing = nodeOf(conversation, message.id);
  const parent = existing?.parent ?? parentId;
  const node: MappingNode = { id: message.id, message, parent, children: existing?.children ?? [] };
  let grown: number;
  if (existing !== undefined) {
    grown = jsonLength(node) - jsonLength(existing);
  } else {
    // `{}` becomes `{"id":{…}}`, without a comma. A tree that holds its parent or its current
    // node is not empty: only a malformed one makes the check look at the whole mapping.
    const empty =
      (parent === null || nodeOf(conversation, parent) === undefined) &&
      nodeOf(conversation, conversation.current_node) === undefined &&
      !hasMembers(conversation.mapping);
    grown = memberLength(message.id, node) - (empty ? 1 : 0);
  }
  putNode(conversation, node);
  if (parent !== null && existing === undefined) grown += adopt(conversation, parent, message.id);
  grown += setField(conversation, 'current_node', message.id);
  grown += setField(conversation, 'update_time', Date.now() / 1000);
  return grown;
}

/** Sets the title in place; returns by how much the tree's JSON grew. */
export function setTitle(conversation: BackendConversation, title: string): number {
  return setField(conversation, 'title', title);
}

/** A conversation known only from the stream of its first turn: no hidden root or system nodes. */
export function newConversation(
  id: string,
  rootId: string,
  title: string | null,
): BackendConversation {
  const now = Date.now() / 1000;
  return {
    title,
    create_time: now,
    update_time: now,
    mapping: { [rootId]: { id: rootId, parent: null, children: [] } },
    current_node: rootId,
    conversation_id: id,
  };
}
