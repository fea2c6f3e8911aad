/**
 * The `v1` delta-encoded stream, in the structure of each capture era (see `StreamProfile`).
 * Field names mirror the captures in `test/fixtures/upstream/v1-*.sse`; values are the turn's.
 * Rule of the encoding: the first message of a stream is added with `"p": "", "o": "add"`, later
 * ones as bare `{"v": {...}, "c": n}` (a bare delta repeats the previous operation).
 */
import { randomUUID } from 'node:crypto';
import type { BackendMessage } from '@chatgpt-rest/core/backend';
import { hiddenSystemMessage } from './conversation-store.js';
import type { Frame } from './sse-channel.js';
import type { EncodeContext, StreamProfile } from './frames.js';
import { chunksOf, dataFrame, DONE_FRAME, moderationFrame } from './frames.js';
import type { Turn } from './turns.js';

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

/** Per-stream ids shared by several events, as the captures repeat them. */
interface StreamIds {
  requestId: string;
  turnExchangeId: string;
  turnTraceId: string;
}

interface Builder {
  frames: Frame[];
  count: number;
  turn: Turn;
  ids: StreamIds;
  envelope: (message: unknown) => Record<string, unknown>;
}

function add(builder: Builder, message: unknown, textEnd?: number): void {
  const first = builder.count === 0;
  const value = builder.envelope(message);
  builder.frames.push({
    ...dataFrame(
      first ? { p: '', o: 'add', v: value, c: builder.count } : { v: value, c: builder.count },
      textEnd,
    ),
    event: 'delta',
  });
  builder.count += 1;
}

function delta(builder: Builder, value: unknown, textEnd?: number): void {
  builder.frames.push({ ...dataFrame(value, textEnd), event: 'delta' });
}

function side(builder: Builder, value: Record<string, unknown>): void {
  builder.frames.push(dataFrame({ ...value }));
}

function message(
  base: BackendMessage,
  overrides: Partial<BackendMessage> & { metadata?: Record<string, unknown> },
): BackendMessage {
  return {
    id: base.id,
    author: { role: base.author.role, name: null, metadata: {} },
    create_time: base.create_time ?? null,
    update_time: null,
    content: base.content,
    status: base.status ?? 'finished_successfully',
    end_turn: base.end_turn ?? null,
    weight: base.weight ?? 1,
    metadata: base.metadata ?? {},
    recipient: 'all',
    channel: null,
    ...overrides,
  };
}

function hidden(
  id: string,
  metadata: Record<string, unknown>,
  extra: Partial<BackendMessage> = {},
): BackendMessage {
  return { ...hiddenSystemMessage(id), metadata, ...extra };
}

function userEcho(turn: Turn, ids: StreamIds, team: boolean): BackendMessage | undefined {
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

function inputMessage(
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

function assistantStart(
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

function marker(turn: Turn, messageId: string): Record<string, unknown> {
  return {
    type: 'message_marker',
    conversation_id: turn.conversation.id,
    message_id: messageId,
    marker: 'user_visible_token',
    event: 'first',
  };
}

function title(turn: Turn, text: string | undefined): Record<string, unknown> {
  return {
    type: 'title_generation',
    title: text ?? 'New chat',
    conversation_id: turn.conversation.id,
  };
}

/** `finish_details` as v1 streams carry it (2024–2026 captures: no `stop` string). */
function finishDetails(turn: Turn): Record<string, unknown> {
  return turn.finish === 'stop' ? { type: 'stop', stop_tokens: [200002] } : { type: 'max_tokens' };
}

function finishPatch(turn: Turn, lastChunk: string | undefined): Record<string, unknown>[] {
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

function steMetadata(
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

function detailMetadata(turn: Turn, profile: StreamProfile): Record<string, unknown> {
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

function complete(turn: Turn): Record<string, unknown> {
  return { type: 'message_stream_complete', conversation_id: turn.conversation.id };
}

function resume(
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

/** Text appends: the first names its path, the next ones are bare. `textEnd` tracks delivery. */
function appends(
  builder: Builder,
  chunks: string[],
  offset: number,
  firstHasPath: boolean,
): number {
  let end = offset;
  chunks.forEach((chunk, index) => {
    end += chunk.length;
    delta(
      builder,
      index === 0 && firstHasPath
        ? { p: '/message/content/parts/0', o: 'append', v: chunk }
        : { v: chunk },
      end,
    );
  });
  return end;
}

function profile2026(builder: Builder, context: EncodeContext, titlesInStream: boolean): void {
  const { turn, ids } = builder;
  side(builder, resume(turn, context, 'conduit'));
  if (turn.system !== undefined) add(builder, turn.system);
  const echo = turn.userIsNew ? userEcho(turn, ids, false) : undefined;
  if (echo !== undefined) {
    add(builder, echo);
    const input = inputMessage(turn, ids, false, turn.conversation.mapping[echo.id]?.parent ?? '');
    if (input !== undefined) side(builder, input);
  }
  const parentId = turn.assistant.metadata?.parent_id ?? '';
  add(builder, assistantStart(turn, ids, '2026-01', parentId), 0);
  if (blocked(builder, context)) return;
  side(builder, marker(turn, turn.assistant.id));
  const chunks = chunksOf(turn, context.chunking);
  const last = titlesInStream ? undefined : chunks.pop();
  const firstTitle = Math.max(1, Math.floor(chunks.length / 3));
  const secondTitle = Math.max(firstTitle + 1, Math.floor((chunks.length * 2) / 3));
  let end = 0;
  let first = true;
  const emitTitle = (from: number, to: number) => {
    end = appends(builder, chunks.slice(from, to), end, first);
    if (to > from) first = false;
  };
  if (turn.isNew) {
    emitTitle(0, firstTitle);
    side(builder, title(turn, turn.title));
    if (titlesInStream) {
      emitTitle(firstTitle, secondTitle);
      side(builder, title(turn, turn.title));
      emitTitle(secondTitle, chunks.length);
    } else {
      emitTitle(firstTitle, chunks.length);
    }
  } else {
    emitTitle(0, chunks.length);
  }
  delta(builder, { p: '', o: 'patch', v: finishPatch(turn, last) }, turn.text.length);
  side(builder, steMetadata(turn, ids, '2026-01', turn.assistant.id));
  side(builder, complete(turn));
  if (turn.isNew && !titlesInStream) side(builder, title(turn, turn.title));
}

function blocked(builder: Builder, context: EncodeContext): boolean {
  if (context.moderation?.blocked !== true) return false;
  builder.frames.push(moderationFrame(builder.turn, context.moderation));
  return true;
}

function profileEarly(
  builder: Builder,
  context: EncodeContext,
  profile: '2025-03' | '2024-10',
): void {
  const { turn, ids } = builder;
  const parentId = turn.assistant.metadata?.parent_id ?? '';
  add(builder, assistantStart(turn, ids, profile, parentId), 0);
  if (blocked(builder, context)) return;
  const chunks = chunksOf(turn, context.chunking);
  if (profile === '2025-03') {
    const last = chunks.pop();
    const middle = Math.max(2, Math.floor(chunks.length / 2));
    let end = appends(builder, chunks.slice(0, middle), 0, true);
    builder.frames.push({ kind: 'comment', text: `ping - ${pythonNow()}` });
    end = appends(builder, chunks.slice(middle), end, false);
    delta(builder, { p: '', o: 'patch', v: finishPatch(turn, last) }, end + (last?.length ?? 0));
    side(builder, complete(turn));
    side(builder, detailMetadata(turn, profile));
    return;
  }
  appends(builder, chunks, 0, true);
  // 2024-10 sent the status patch and the finish metadata as two separate deltas.
  const [status, endTurn] = finishPatch(turn, undefined);
  delta(builder, { p: '', o: 'patch', v: [status, endTurn] }, turn.text.length);
  delta(builder, {
    p: '/message/metadata',
    o: 'append',
    v: {
      timestamp_: 'absolute',
      request_id: ids.requestId,
      finish_details: finishDetails(turn),
      is_complete: true,
    },
  });
  builder.frames.push({ kind: 'event', data: '' });
}

function profileTeam(builder: Builder, context: EncodeContext): void {
  const { turn, ids } = builder;
  const conversation = turn.conversation;
  side(builder, resume(turn, context, 'conduit'));
  const hiddenMeta = { model_switcher_deny: [], is_visually_hidden_from_conversation: true };
  if (turn.system !== undefined) add(builder, hidden(turn.system.id, hiddenMeta));
  add(builder, hidden(randomUUID(), { rebase_developer_message: true, ...hiddenMeta }));
  add(builder, hidden(randomUUID(), hiddenMeta, { end_turn: false }));
  add(builder, {
    id: randomUUID(),
    author: { role: 'user', name: null, metadata: {} },
    create_time: null,
    update_time: null,
    content: {
      content_type: 'user_editable_context',
      user_profile: 'User profile:\n```Role: tester\n```',
      user_instructions: '',
    },
    status: 'finished_successfully',
    end_turn: null,
    weight: 1,
    metadata: {
      is_visually_hidden_from_conversation: true,
      user_context_message_data: { about_user_message: 'Role: tester\n' },
      is_user_system_message: true,
      model_switcher_deny: [],
    },
    recipient: 'all',
    channel: null,
  });
  const identityId = randomUUID();
  add(
    builder,
    hidden(
      identityId,
      {
        is_contextual_answers_system_message: true,
        contextual_answers_message_type: 'identity_prompt',
        ...hiddenMeta,
      },
      { end_turn: null, weight: 1 },
    ),
  );
  const developerId = randomUUID();
  const developerTime = Date.now() / 1000;
  add(
    builder,
    hidden(
      developerId,
      {
        request_id: ids.requestId,
        message_source: null,
        turn_exchange_id: ids.turnExchangeId,
        ...hiddenMeta,
      },
      { create_time: developerTime, end_turn: null },
    ),
  );
  const echo = turn.userIsNew ? userEcho(turn, ids, true) : undefined;
  if (echo !== undefined) add(builder, echo);
  side(builder, {
    type: 'input_message',
    input_message: {
      id: developerId,
      author: {
        role: 'developer',
        name: null,
        metadata: { real_author: 'sonic.genui_prefetcher' },
      },
      create_time: developerTime,
      update_time: null,
      content: {
        content_type: 'developer_content',
        instructions: ['Prefetched tool results.'],
        settings: null,
        function_namespaces: null,
        response_formats: null,
      },
      status: 'finished_successfully',
      end_turn: null,
      weight: 0,
      metadata: {
        requires_genui: true,
        genui_prefetch: { tool_names: [], always_trigger_tool_names: [], prefetch_groups: [] },
        request_id: ids.requestId,
        message_source: null,
        turn_exchange_id: ids.turnExchangeId,
        turn_trace_id: ids.turnTraceId,
        parent_id: identityId,
      },
      recipient: 'all',
      channel: null,
    },
    conversation_id: conversation.id,
  });
  if (echo !== undefined) {
    const input = inputMessage(turn, ids, true, developerId);
    if (input !== undefined) side(builder, input);
  }
  const modelMeta = {
    request_id: ids.requestId,
    message_type: turn.action,
    turn_exchange_id: ids.turnExchangeId,
    model_slug: turn.model,
    default_model_slug: turn.model,
  };
  const skillId = randomUUID();
  add(
    builder,
    hidden(skillId, {
      is_visually_hidden_from_conversation: true,
      exclusive_key: 'skill_attachment_metadata',
      ...modelMeta,
      parent_id: turn.user?.id ?? '',
      model_switcher_deny: [],
    }),
  );
  const sourcesId = randomUUID();
  add(
    builder,
    hidden(
      sourcesId,
      {
        is_contextual_answers_system_message: true,
        is_visually_hidden_from_conversation: true,
        command: 'prompt',
        contextual_answers_message_type: 'sources_and_filters_prompt',
        ...modelMeta,
        parent_id: skillId,
        model_switcher_deny: [],
      },
      { create_time: Date.now() / 1000, end_turn: null, weight: 1 },
    ),
  );
  const contextId = randomUUID();
  add(builder, {
    id: contextId,
    author: { role: 'assistant', name: null, metadata: {} },
    create_time: Date.now() / 1000,
    update_time: null,
    content: {
      content_type: 'model_editable_context',
      model_set_context: '',
      repository: null,
      repo_summary: null,
      structured_context: null,
    },
    status: 'finished_successfully',
    end_turn: null,
    weight: 1,
    metadata: {
      search_result_groups: [],
      ...modelMeta,
      can_save: false,
      parent_id: sourcesId,
      model_switcher_deny: [],
    },
    recipient: 'all',
    channel: null,
  });
  add(builder, assistantStart(turn, ids, '2026-03-team', contextId), 0);
  if (blocked(builder, context)) return;
  side(builder, marker(turn, turn.assistant.id));
  const chunks = chunksOf(turn, context.chunking);
  const last = chunks.pop() ?? '';
  let end = 0;
  let tokens = 0;
  chunks.forEach((chunk, index) => {
    end += chunk.length;
    tokens += 1;
    const ops = [
      { p: '/message/content/parts/0', o: 'append', v: chunk },
      { p: '/message/metadata/token_count', o: 'replace', v: tokens },
    ];
    delta(builder, index === 0 ? { o: 'patch', v: ops } : { v: ops }, end);
  });
  const finish = [
    { p: '/message/content/parts/0', o: 'append', v: last },
    { p: '/message/status', o: 'replace', v: 'finished_successfully' },
    { p: '/message/end_turn', o: 'replace', v: turn.finish === 'stop' },
    { p: '/message/metadata/token_count', o: 'replace', v: tokens + 1 },
    {
      p: '/message/metadata',
      o: 'append',
      // The capture carries no finish_details on a normal stop; a cut reply still says why.
      v:
        turn.finish === 'stop'
          ? { can_save: true, search_result_groups: [] }
          : { can_save: true, search_result_groups: [], finish_details: finishDetails(turn) },
    },
  ];
  delta(builder, chunks.length === 0 ? { o: 'patch', v: finish } : { v: finish }, turn.text.length);
  side(builder, steMetadata(turn, ids, '2026-03-team', turn.system?.id ?? turn.assistant.id));
  if (turn.isNew) side(builder, title(turn, turn.title));
  side(builder, complete(turn));
  side(builder, detailMetadata(turn, '2026-03-team'));
}

function profileImage(builder: Builder, context: EncodeContext): void {
  const { turn, ids } = builder;
  side(builder, resume(turn, context, 'topic'));
  const codeId = randomUUID();
  add(builder, {
    id: codeId,
    author: { role: 'assistant', name: null, metadata: {} },
    create_time: Date.now() / 1000,
    update_time: null,
    content: {
      content_type: 'code',
      language: 'python3',
      response_format_name: null,
      text: '{"skipped_mainline":true}',
    },
    status: 'in_progress',
    end_turn: false,
    weight: 1,
    metadata: { parent_id: turn.user?.id ?? '', turn_exchange_id: ids.turnExchangeId },
    recipient: 't2uay3k.sj1i4kz',
    channel: null,
  });
  delta(builder, { p: '/message/status', o: 'replace', v: 'finished_successfully' });
  side(builder, {
    type: 'conversation_async_status',
    conversation_id: turn.conversation.id,
    async_status: 7,
  });
  if (blocked(builder, context)) return;
  side(builder, marker(turn, turn.assistant.id));
  // A second add in the capture repeats `"p": "", "o": "add"` (a status replace came between).
  builder.frames.push({
    ...dataFrame(
      {
        p: '',
        o: 'add',
        v: builder.envelope({
          id: turn.assistant.id,
          author: { role: 'tool', name: 't2uay3k.sj1i4kz', metadata: {} },
          create_time: turn.assistant.create_time,
          update_time: null,
          content: { content_type: 'text', parts: [turn.text] },
          status: 'finished_successfully',
          end_turn: true,
          weight: 1,
          metadata: {
            ui_card: true,
            ui_card_title: 'Processing image',
            ui_card_description: turn.text,
            ui_card_shimmer: true,
            image_gen_async: false,
            trigger_async_ux: false,
            image_gen_task_id: `chatimagegen-emulator:${randomUUID()}`,
            image_gen_multi_stream: true,
            block_interruption: true,
            permissions: [
              {
                type: 'notification',
                status: 'requested',
                notification_channel_id: 'image_gen',
                notification_channel_name: 'ImageGen',
                notification_priority: 4,
              },
            ],
            parent_id: codeId,
            turn_exchange_id: ids.turnExchangeId,
          },
          recipient: 'all',
          channel: null,
        }),
        c: builder.count,
      },
      turn.text.length,
    ),
    event: 'delta',
  });
  builder.count += 1;
  if (turn.isNew) side(builder, title(turn, turn.title));
  side(builder, steMetadata(turn, ids, '2026-04-image', codeId));
  side(builder, complete(turn));
  side(builder, detailMetadata(turn, '2026-04-image'));
}

/** Python's `str(datetime.now(timezone.utc))`, as in `: ping - 2025-03-06 19:22:41.128196+00:00`. */
export function pythonNow(date: Date = new Date()): string {
  return `${date.toISOString().replace('T', ' ').replace('Z', '')}000+00:00`;
}

/** The frames of a `v1` stream for a turn, in the structure of `context.profile`. */
export function v1Frames(turn: Turn, context: EncodeContext): Frame[] {
  const ids: StreamIds = {
    requestId: randomUUID(),
    turnExchangeId: randomUUID(),
    turnTraceId: randomUUID(),
  };
  const early = context.profile === '2024-10' || context.profile === '2025-03';
  const builder: Builder = {
    frames: [{ kind: 'event', event: 'delta_encoding', data: '"v1"' }],
    count: 0,
    turn,
    ids,
    envelope: (message) =>
      early
        ? { message, conversation_id: turn.conversation.id, error: null }
        : { message, conversation_id: turn.conversation.id, error: null, error_code: null },
  };
  switch (context.profile) {
    case '2024-10':
    case '2025-03':
      profileEarly(builder, context, context.profile);
      break;
    case '2026-03-team':
      profileTeam(builder, context);
      break;
    case '2026-04-image':
      profileImage(builder, context);
      break;
    default:
      profile2026(builder, context, context.profile === '2026-01-titles-in-stream');
  }
  if (context.moderation !== undefined && !context.moderation.blocked) {
    builder.frames.push(moderationFrame(turn, context.moderation));
  }
  builder.frames.push(DONE_FRAME);
  return builder.frames;
}
