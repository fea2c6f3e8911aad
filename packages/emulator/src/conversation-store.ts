/**
 * Conversations per access token, kept as the backend keeps them: a `mapping` tree with a root
 * node without message, a hidden system message under it, and `current_node` at the end of the
 * visible branch. Also remembers, per assistant message, the full planned reply so `continue`
 * can resume exactly where `max_tokens` cut it.
 */
import { randomUUID } from 'node:crypto';
import type {
  BackendConversation,
  BackendConversationSummary,
  BackendMessage,
  MappingNode,
} from '@chatgpt-rest/core/backend';

/** The planned reply behind an assistant message: `text.slice(start, end)` is what it carries. */
export interface ReplyPlan {
  text: string;
  start: number;
  end: number;
}

/** One stored conversation. Times are epoch seconds (float). */
export interface StoredConversation {
  id: string;
  title: string | null;
  createTime: number;
  updateTime: number;
  /** Nodes by id, without a prototype: a client's id `constructor` finds no node. */
  mapping: Record<string, MappingNode>;
  currentNode: string;
  rootId: string;
  systemId: string;
  isVisible: boolean;
  isArchived: boolean;
  /** Sent with `history_and_training_disabled: true`: kept (it can be read and continued) but never listed. */
  temporary: boolean;
  defaultModelSlug: string;
  plans: Map<string, ReplyPlan>;
}

/** Epoch seconds with microseconds, as the backend's floats. */
export function epochSeconds(ms: number = Date.now()): number {
  return Math.round(ms * 1000) / 1e6;
}

/** Python's `isoformat()` of a UTC time: microseconds and `+00:00`. */
export function isoTime(seconds: number): string {
  const whole = Math.floor(seconds);
  const micros = Math.round((seconds - whole) * 1e6);
  const base = new Date(whole * 1000).toISOString().slice(0, 19);
  return `${base}.${String(Math.min(micros, 999999)).padStart(6, '0')}+00:00`;
}

/** The hidden system message every conversation starts with. */
export function hiddenSystemMessage(id: string): BackendMessage {
  return {
    id,
    author: { role: 'system', name: null, metadata: {} },
    create_time: null,
    update_time: null,
    content: { content_type: 'text', parts: [''] },
    status: 'finished_successfully',
    end_turn: true,
    weight: 0,
    metadata: { is_visually_hidden_from_conversation: true, model_switcher_deny: [] },
    recipient: 'all',
    channel: null,
  };
}

/** Conversations of every access token. */
export class ConversationStore {
  readonly #byOwner = new Map<string, Map<string, StoredConversation>>();

  #owned(owner: string): Map<string, StoredConversation> {
    let owned = this.#byOwner.get(owner);
    if (owned === undefined) {
      owned = new Map();
      this.#byOwner.set(owner, owned);
    }
    return owned;
  }

  /** Starts a conversation with its root node and hidden system message. */
  create(owner: string, model: string, id: string = randomUUID()): StoredConversation {
    const now = epochSeconds();
    const rootId = randomUUID();
    const systemId = randomUUID();
    const conversation: StoredConversation = {
      id,
      title: null,
      createTime: now,
      updateTime: now,
      mapping: Object.assign(Object.create(null) as Record<string, MappingNode>, {
        [rootId]: { id: rootId, parent: null, children: [systemId] },
        [systemId]: {
          id: systemId,
          message: hiddenSystemMessage(systemId),
          parent: rootId,
          children: [],
        },
      }),
      currentNode: systemId,
      rootId,
      systemId,
      isVisible: true,
      isArchived: false,
      temporary: false,
      defaultModelSlug: model,
      plans: new Map(),
    };
    this.#owned(owner).set(id, conversation);
    return conversation;
  }

  /** A visible conversation of this owner, or undefined (hidden ones are gone for the backend). */
  get(owner: string, id: string): StoredConversation | undefined {
    const conversation = this.#byOwner.get(owner)?.get(id);
    return conversation?.isVisible === true ? conversation : undefined;
  }

  /** Visible conversations, newest update first; archived ones only when asked; temporary ones never. */
  list(owner: string, archived = false): StoredConversation[] {
    return [...(this.#byOwner.get(owner)?.values() ?? [])]
      .filter((c) => c.isVisible && !c.temporary && c.isArchived === archived)
      .sort((a, b) => b.updateTime - a.updateTime);
  }

  /** Hides every conversation of an owner (`PATCH /conversations {"is_visible": false}`). */
  hideAll(owner: string): void {
    for (const conversation of this.#byOwner.get(owner)?.values() ?? []) {
      conversation.isVisible = false;
    }
  }

  /** Every conversation with its owner, hidden ones included. */
  *entries(): Generator<[owner: string, conversation: StoredConversation]> {
    for (const [owner, owned] of this.#byOwner) {
      for (const conversation of owned.values()) yield [owner, conversation];
    }
  }

  /** Every conversation of every owner, hidden ones included (for tests). */
  all(): StoredConversation[] {
    return [...this.#byOwner.values()].flatMap((owned) => [...owned.values()]);
  }

  /**
   * Forgets every conversation `keep` refuses (of any owner, hidden ones included) and returns how
   * many went: a long-running emulator (a load test, a dev server) can drop what it no longer needs.
   */
  retain(keep: (owner: string, conversation: StoredConversation) => boolean): number {
    let removed = 0;
    for (const [owner, owned] of this.#byOwner) {
      for (const [id, conversation] of owned) {
        if (keep(owner, conversation)) continue;
        owned.delete(id);
        removed++;
      }
      if (owned.size === 0) this.#byOwner.delete(owner);
    }
    return removed;
  }

  /** Forgets everything. */
  clear(): void {
    this.#byOwner.clear();
  }
}

/** Adds a message under a parent node and makes it the current node. */
export function addMessage(
  conversation: StoredConversation,
  message: BackendMessage,
  parentId: string,
): void {
  const parent = conversation.mapping[parentId];
  if (parent === undefined) throw new Error(`unknown parent ${parentId}`);
  parent.children.push(message.id);
  conversation.mapping[message.id] = { id: message.id, message, parent: parentId, children: [] };
  conversation.currentNode = message.id;
  conversation.updateTime = epochSeconds();
}

/** The message of a node, when the node exists and holds one. */
export function messageOf(
  conversation: StoredConversation,
  id: string,
): BackendMessage | undefined {
  return conversation.mapping[id]?.message ?? undefined;
}

/** `GET /conversation/{id}`: the full tree, times as epoch floats. */
export function conversationDetail(conversation: StoredConversation): BackendConversation {
  return {
    title: conversation.title,
    create_time: conversation.createTime,
    update_time: conversation.updateTime,
    mapping: structuredClone(conversation.mapping),
    moderation_results: [],
    current_node: conversation.currentNode,
    plugin_ids: null,
    conversation_id: conversation.id,
    conversation_template_id: null,
    gizmo_id: null,
    is_archived: conversation.isArchived,
    safe_urls: [],
    default_model_slug: conversation.defaultModelSlug,
  };
}

/** One item of `GET /conversations`: times as ISO strings, no mapping. */
export function conversationSummary(conversation: StoredConversation): BackendConversationSummary {
  return {
    id: conversation.id,
    title: conversation.title,
    create_time: isoTime(conversation.createTime),
    update_time: isoTime(conversation.updateTime),
    mapping: null,
    current_node: null,
    conversation_template_id: null,
    gizmo_id: null,
    is_archived: conversation.isArchived,
    workspace_id: null,
  };
}
