/**
 * Shapes of the ChatGPT web backend (`/backend-api`), as the captures in
 * `test/fixtures/upstream/` show them. Shared by the upstream client, the stream reader and the
 * backend emulator. The backend adds fields without notice: every object keeps unknown fields.
 */

/** Which send path and stream encoding the upstream speaks. */
export type Dialect = 'legacy' | 'web';

/** The author of a backend message. Very old streams used a top-level `role` instead. */
export interface BackendAuthor {
  role: 'system' | 'user' | 'assistant' | 'tool' | 'developer' | (string & {});
  name?: string | null;
  metadata?: Record<string, unknown>;
}

/** `metadata.finish_details` of an assistant message. */
export interface FinishDetails {
  type: 'stop' | 'max_tokens' | 'interrupted' | (string & {});
  stop_tokens?: number[];
  stop?: string;
  [key: string]: unknown;
}

/** One message as the backend sends it, in a stream event or inside a conversation mapping. */
export interface BackendMessage {
  id: string;
  author: BackendAuthor;
  create_time?: number | null;
  update_time?: number | null;
  content: {
    content_type: string;
    parts?: unknown[];
    [key: string]: unknown;
  };
  status?: string;
  end_turn?: boolean | null;
  weight?: number;
  metadata?: {
    message_type?: string;
    model_slug?: string;
    finish_details?: FinishDetails;
    citations?: unknown[];
    parent_id?: string;
    is_visually_hidden_from_conversation?: boolean;
    [key: string]: unknown;
  };
  recipient?: string;
  channel?: string | null;
  [key: string]: unknown;
}

/** A node of a conversation's `mapping`: the root node has no `message`. */
export interface MappingNode {
  id: string;
  message?: BackendMessage | null;
  parent: string | null;
  children: string[];
}

/** `GET /conversation/{id}`. Times are epoch seconds (float). */
export interface BackendConversation {
  title: string | null;
  create_time: number;
  update_time: number;
  mapping: Record<string, MappingNode>;
  current_node: string;
  conversation_id: string;
  moderation_results?: unknown[];
  is_archived?: boolean;
  default_model_slug?: string | null;
  [key: string]: unknown;
}

/** One item of `GET /conversations`. Times are ISO strings. */
export interface BackendConversationSummary {
  id: string;
  title: string | null;
  create_time: string;
  update_time: string;
  mapping: null;
  current_node: null;
  is_archived?: boolean;
  [key: string]: unknown;
}

/** `GET /conversations?offset&limit&order`. */
export interface BackendConversationList {
  items: BackendConversationSummary[];
  total: number;
  limit: number;
  offset: number;
  has_missing_conversations?: boolean;
  [key: string]: unknown;
}

/** `POST /conversation` and `POST /f/conversation` (and, minus `messages`, `/f/conversation/prepare`). */
export interface BackendMessageRequest {
  action: 'next' | 'continue' | 'variant';
  messages?: {
    id: string;
    author?: { role: string };
    /** revChatGPT-era clients send `role` instead of `author`. */
    role?: string;
    create_time?: number;
    content: { content_type: 'text'; parts: string[] };
    metadata?: Record<string, unknown>;
  }[];
  conversation_id?: string | null;
  parent_message_id: string;
  model: string;
  timezone_offset_min?: number;
  conversation_mode?: { kind: string };
  history_and_training_disabled?: boolean;
  supports_buffering?: boolean;
  supported_encodings?: string[];
  [key: string]: unknown;
}

/** `POST /sentinel/chat-requirements`. */
export interface ChatRequirements {
  persona?: string;
  token: string;
  expire_after?: number;
  force_login?: boolean;
  arkose?: { required: boolean; dx?: string | null };
  turnstile?: { required: boolean; dx?: string | null };
  proofofwork?: { required: boolean; seed?: string; difficulty?: string };
  [key: string]: unknown;
}
