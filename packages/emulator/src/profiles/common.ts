/**
 * The messages and side events the `v1` profiles share: the user echo and `input_message`, the
 * assistant's start, text finish patches, markers, titles, `server_ste_metadata`,
 * `conversation_detail_metadata`, completion and resume tokens. Field names mirror the captures
 * in `test/fixtures/upstream/v1-*.sse`; values are the turn's.
 */
import { randomUUID } from 'node:crypto';
import type { BackendMessage } from '@chatgpt-rest/core/backend';
import type { EncodeContext, StreamProfile } from '../frames.js';
import type { Turn } from '../turns.js';
import { message, type StreamIds } from './builder.js';

const USERAGENT_KEYS_2026_01 = [
  'is_mobile',
  'is_mobile_app',
  'is_desktop_app',
  'is_native_app',
  'is_native_app_apple',
  'is_mobile_app_ios',
  'is_desktop_app_macos',
  'is_aura_app_macos',
  'is_aura_web',
  'is_sora_ios',
  'is_agora_ios',
  'is_agora_android',
  'is_desktop_app_windows',
  'is_electron_app',
  'is_mobile_app_android',
  'is_mobile_web',
  'is_mobile_web_ios',
  'is_mobile_web_android',
  'is_ios',
  'is_android',
  'is_macos',
  'is_windows',
  'is_linux',
  'is_chatgpt_client',
  'is_sora_client',
  'is_agora_client',
  'is_browserbased_app',
  'is_chatgpt_api',
  'is_slack',
  'is_chatkit_web',
  'is_chatkit_synthetic',
  'is_kakao_talk',
];

function useragent(team: boolean): Record<string, unknown> {
  const flags = team
    ? [...USERAGENT_KEYS_2026_01, 'is_codex_desktop', 'is_offline_caching']
    : USERAGENT_KEYS_2026_01;
  return {
    client_type: 'web',
    ...Object.fromEntries(
      flags.map((key) => [key, key === 'is_browserbased_app' || key === 'is_linux']),
    ),
    app_version: null,
    build_number: null,
    user_agent:
      'mozilla/5.0 (x11; linux x86_64) applewebkit/537.36 (khtml, like gecko) chrome/143.0.0.0 safari/537.36',
    app_environment: null,
    os_version: null,
    device_model: null,
    user_client_type: 'desktop_web',
  };
}

/** The user message echoed as the stream adds it. */
export function userEcho(turn: Turn, ids: StreamIds, team: boolean): BackendMessage | undefined {
  const user = turn.user;
  if (user === undefined) return undefined;
  const metadata: Record<string, unknown> = team
    ? {
        developer_mode_connector_ids: [],
        selected_sources: [],
        selected_github_repos: [],
        serialization_metadata: { custom_symbol_offsets: [] },
        request_id: ids.requestId,
        message_source: null,
        turn_exchange_id: ids.turnExchangeId,
        resolved_model_slug: turn.model,
        model_switcher_deny: [],
      }
    : {
        selected_github_repos: [],
        serialization_metadata: { custom_symbol_offsets: [] },
        request_id: ids.requestId,
        message_source: null,
        turn_exchange_id: ids.turnExchangeId,
        model_switcher_deny: [],
      };
  return message(user, { metadata });
}

/** The `input_message` side event (2026 captures). */
export function inputMessage(
  turn: Turn,
  ids: StreamIds,
  team: boolean,
  parentId: string,
): Record<string, unknown> | undefined {
  const user = turn.user;
  if (user === undefined) return undefined;
  const head = team
    ? {
        developer_mode_connector_ids: [],
        selected_connector_ids: [],
        selected_sync_knowledge_store_ids: [],
        selected_sources: [],
      }
    : {};
  const metadata: Record<string, unknown> = {
    ...head,
    selected_github_repos: [],
    selected_all_github_repos: false,
    serialization_metadata: { custom_symbol_offsets: [] },
    request_id: ids.requestId,
    message_source: null,
    turn_exchange_id: ids.turnExchangeId,
    turn_trace_id: ids.turnTraceId,
    useragent: useragent(team),
    paragen_stream_type: 'default',
    ...(team ? { resolved_model_slug: turn.model } : {}),
    parent_id: parentId,
  };
  return {
    type: 'input_message',
    input_message: message(user, { metadata }),
    conversation_id: turn.conversation.id,
  };
}

/** The assistant message as first added: empty text, `in_progress`, the era's metadata. */
export function assistantStart(
  turn: Turn,
  ids: StreamIds,
  profile: StreamProfile,
  parentId: string,
): BackendMessage {
  const base = turn.assistant;
  const modelMeta = {
    message_type: turn.action,
    model_slug: turn.model,
    default_model_slug: turn.requestedModel,
  };
  let metadata: Record<string, unknown>;
  switch (profile) {
    case '2024-10':
      metadata = {
        citations: [],
        content_references: [],
        gizmo_id: null,
        ...modelMeta,
        parent_id: parentId,
        model_switcher_deny: [],
      };
      break;
    case '2025-03':
      metadata = {
        citations: [],
        content_references: [],
        ...modelMeta,
        parent_id: parentId,
        model_switcher_deny: [],
      };
      break;
    case '2026-03-team':
      metadata = {
        citations: [],
        content_references: [],
        resolved_model_slug: turn.model,
        request_id: ids.requestId,
        ...modelMeta,
        turn_exchange_id: ids.turnExchangeId,
        parent_id: parentId,
        token_count: 0,
        model_switcher_deny: [],
      };
      break;
    default:
      metadata = {
        citations: [],
        content_references: [],
        request_id: ids.requestId,
        ...modelMeta,
        parent_id: parentId,
        turn_exchange_id: ids.turnExchangeId,
        model_switcher_deny: [],
      };
  }
  return message(base, {
    content: { content_type: 'text', parts: [''] },
    status: 'in_progress',
    end_turn: null,
    metadata,
    ...(profile === '2026-03-team' ? { channel: 'final' } : {}),
  });
}

/** `message_marker` (first user-visible token). */
export function marker(turn: Turn, messageId: string): Record<string, unknown> {
  return {
    type: 'message_marker',
    conversation_id: turn.conversation.id,
    message_id: messageId,
    marker: 'user_visible_token',
    event: 'first',
  };
}

/** `title_generation`. */
export function title(turn: Turn, text: string | undefined): Record<string, unknown> {
  return {
    type: 'title_generation',
    title: text ?? 'New chat',
    conversation_id: turn.conversation.id,
  };
}

/** `finish_details` as v1 streams carry it (2024–2026 captures: no `stop` string). */
export function finishDetails(turn: Turn): Record<string, unknown> {
  return turn.finish === 'stop' ? { type: 'stop', stop_tokens: [200002] } : { type: 'max_tokens' };
}

/** The closing patch: the last chunk (if any), status, `end_turn` and finish metadata. */
export function finishPatch(turn: Turn, lastChunk: string | undefined): Record<string, unknown>[] {
  const ops: Record<string, unknown>[] = [];
  if (lastChunk !== undefined)
    ops.push({ p: '/message/content/parts/0', o: 'append', v: lastChunk });
  ops.push(
    { p: '/message/status', o: 'replace', v: 'finished_successfully' },
    { p: '/message/end_turn', o: 'replace', v: turn.finish === 'stop' },
    {
      p: '/message/metadata',
      o: 'append',
      v: { finish_details: finishDetails(turn), is_complete: true },
    },
  );
  return ops;
}

/** `server_ste_metadata` in the shape of the profile's era and plan. */
export function steMetadata(
  turn: Turn,
  ids: StreamIds,
  profile: StreamProfile,
  messageId: string,
): Record<string, unknown> {
  const paid = profile === '2026-03-team' || profile === '2026-04-image';
  const metadata: Record<string, unknown> = {
    conduit_prewarmed: paid,
    plan_type: profile === '2026-03-team' ? 'team' : profile === '2026-04-image' ? 'plus' : 'free',
    ...(paid ? { plan_type_bucket: profile === '2026-03-team' ? 'teams' : 'paid' } : {}),
    user_agent: 'web_desktop',
    service: null,
    tool_name: null,
    tool_invoked: false,
    fast_convo: true,
    warmup_state: paid ? 'warm' : 'cold',
    is_first_turn: turn.isNew,
    cluster_region: 'emulator',
    model_slug: turn.model,
    region: null,
    is_multimodal: false,
    did_auto_switch_to_reasoning: false,
    auto_switcher_race_winner: null,
    is_autoswitcher_enabled: false,
    is_search: null,
    did_prompt_contain_image: profile === '2026-04-image',
    search_tool_call_count: null,
    search_tool_query_types: null,
    message_id: messageId,
    request_id: ids.requestId,
    turn_exchange_id: ids.turnExchangeId,
    turn_trace_id: ids.turnTraceId,
    ...(profile === '2026-03-team'
      ? { otrace_id: String(BigInt(`0x${randomUUID().replace(/-/g, '')}`)) }
      : {}),
    a32e6ebcb: 2,
    resume_with_websockets: profile === '2026-04-image',
    ...(paid ? { low_turn_topic_ttl: false } : {}),
    streaming_async_status: false,
    ...(paid ? { replace_stream_status: true } : {}),
    temporal_conversation_turn: false,
    ...(paid
      ? { turn_use_case: profile === '2026-04-image' ? 'image gen' : 'text', turn_mode: 'default' }
      : {}),
  };
  return { type: 'server_ste_metadata', metadata, conversation_id: turn.conversation.id };
}

/** `conversation_detail_metadata`. */
export function detailMetadata(turn: Turn, profile: StreamProfile): Record<string, unknown> {
  const reset = new Date(Date.now() + 30 * 86400_000).toISOString().replace('Z', '000+00:00');
  return {
    type: 'conversation_detail_metadata',
    banner_info: null,
    blocked_features: [],
    model_limits: [],
    limits_progress: [{ feature_name: 'deep_research', remaining: 10, reset_after: reset }],
    default_model_slug: turn.model,
    ...(profile === '2025-03' ? {} : { atlas_mode_enabled: null }),
    conversation_id: turn.conversation.id,
  };
}

/** `message_stream_complete`. */
export function complete(turn: Turn): Record<string, unknown> {
  return { type: 'message_stream_complete', conversation_id: turn.conversation.id };
}

/** `resume_conversation_token` of the given kind. */
export function resume(
  turn: Turn,
  context: EncodeContext,
  kind: 'conduit' | 'topic',
): Record<string, unknown> {
  return {
    type: 'resume_conversation_token',
    kind,
    token: context.resumeToken,
    conversation_id: turn.conversation.id,
  };
}

/** Python's `str(datetime.now(timezone.utc))`, as in `: ping - 2025-03-06 19:22:41.128196+00:00`. */
export function pythonNow(date: Date = new Date()): string {
  return `${date.toISOString().replace('T', ' ').replace('Z', '')}000+00:00`;
}
