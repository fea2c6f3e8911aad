/** The `openai` option: the OpenAI-compatible routes' models and conversation reuse. */

/** Options of the OpenAI-compatible routes. */
export interface OpenAiOptions {
  /**
   * The models `/v1/models` lists and completions accept (others are a 404 `model_not_found`);
   * an empty list accepts any model and lets the upstream decide.
   * @default DEFAULT_OPENAI_MODELS
   */
  models?: string[];
  /**
   * Ask the upstream to keep no history of these conversations (ChatGPT's temporary chats), so
   * that a chat client does not fill the account's sidebar.
   * @default true
   */
  temporary?: boolean;
  /**
   * When a request's history is a conversation this server answered for the same caller, send
   * only the new message to that conversation instead of the whole history (the upstream keeps
   * its own context). A history the upstream lost is sent whole.
   * @default true
   */
  reuseConversations?: boolean;
}

/** The models the OpenAI-compatible routes offer by default: the backend's usual slugs. */
export const DEFAULT_OPENAI_MODELS: readonly string[] = [
  'auto',
  'gpt-5',
  'gpt-5-mini',
  'gpt-5-thinking',
  'gpt-4o',
  'gpt-4o-mini',
  'gpt-4.1',
  'o3',
  'o4-mini',
];

/** The `openai` option with its defaults. */
export function resolveOpenAi(openai: OpenAiOptions | undefined): {
  models: string[];
  temporary: boolean;
  reuseConversations: boolean;
} {
  return {
    models: [...(openai?.models ?? DEFAULT_OPENAI_MODELS)],
    temporary: openai?.temporary ?? true,
    reuseConversations: openai?.reuseConversations ?? true,
  };
}
