import type { BackendConversation, BackendMessage, MappingNode } from '../backend/types.js';
import { isForEveryone, messageRole, messageText, toReply, type ThreadMessage } from './reply.js';

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
 * A time as ISO 8601 with `Z`, whether the upstream gave epoch seconds (trees) or a Python
 * `isoformat()` string such as `2026-12-02T00:13:45.256000+00:00` (lists): one format everywhere.
 */
export function isoTime(value: unknown): string | null {
  if (typeof value === 'number' && Number.isFinite(value)) {
    return new Date(value * 1000).toISOString();
  }
  if (typeof value !== 'string') return null;
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

/**
 * Returns a copy of `conversation` with `message` placed in the tree under `parentId` (or
 * replacing the node of the same id) and, when `makeCurrent`, `current_node` moved to it.
 */
export function withMessage(
  conversation: BackendConversation,
  message: BackendMessage,
  parentId: string | null,
  makeCurrent = true,
): BackendConversation {
  const mapping = { ...conversation.mapping };
  const existing = mapping[message.id];
  const parent = existing?.parent ?? parentId;
  mapping[message.id] = { id: message.id, message, parent, children: existing?.children ?? [] };
  if (parent !== null && existing === undefined) {
    const parentNode = mapping[parent] ?? { id: parent, parent: null, children: [] };
    mapping[parent] = { ...parentNode, children: [...parentNode.children, message.id] };
  }
  return {
    ...conversation,
    mapping,
    current_node: makeCurrent ? message.id : conversation.current_node,
    update_time: Date.now() / 1000,
  };
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
