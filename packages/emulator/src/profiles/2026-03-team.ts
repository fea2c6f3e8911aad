/**
 * The 2026-03 team-plan `v1` stream: before the reply, the hidden system and developer messages
 * (system, developer rebase, user profile, identity prompt, prefetched tools) and the tool
 * messages (skill attachment, sources prompt, model-editable context); the reply's appends patch
 * a token count, and the finish patch carries `can_save`.
 */
import { randomUUID } from 'node:crypto';
import type { BackendMessage } from '@chatgpt-rest/core/backend';
import type { EncodeContext } from '../frames.js';
import { chunksOf } from '../frames.js';
import { add, blocked, delta, hidden, side, type Builder } from './builder.js';
import {
  assistantStart,
  complete,
  detailMetadata,
  finishDetails,
  inputMessage,
  marker,
  resume,
  steMetadata,
  title,
  userEcho,
} from './common.js';

/** The developer message the hidden messages end with, echoed later as an `input_message`. */
interface Developer {
  identityId: string;
  developerId: string;
  developerTime: number;
}

/** The 2026-03 team stream. */
export function profileTeam(builder: Builder, context: EncodeContext): void {
  const { turn, ids } = builder;
  side(builder, resume(turn, context, 'conduit'));
  const developer = addHiddenMessages(builder);
  const echo = turn.userIsNew ? userEcho(turn, ids, true) : undefined;
  if (echo !== undefined) add(builder, echo);
  side(builder, developerInput(builder, developer));
  if (echo !== undefined) {
    const input = inputMessage(turn, ids, true, developer.developerId);
    if (input !== undefined) side(builder, input);
  }
  const contextId = addToolMessages(builder);
  add(builder, assistantStart(turn, ids, '2026-03-team', contextId), 0);
  if (blocked(builder, context)) return;
  side(builder, marker(turn, turn.assistant.id));
  addReplyText(builder, context);
  side(builder, steMetadata(turn, ids, '2026-03-team', turn.system?.id ?? turn.assistant.id));
  if (turn.isNew) side(builder, title(turn, turn.title));
  side(builder, complete(turn));
  side(builder, detailMetadata(turn, '2026-03-team'));
}

/** The hidden system, developer-rebase, user-profile, identity and developer messages. */
function addHiddenMessages(builder: Builder): Developer {
  const { turn, ids } = builder;
  const hiddenMeta = { model_switcher_deny: [], is_visually_hidden_from_conversation: true };
  if (turn.system !== undefined) add(builder, hidden(turn.system.id, hiddenMeta));
  add(builder, hidden(randomUUID(), { rebase_developer_message: true, ...hiddenMeta }));
  add(builder, hidden(randomUUID(), hiddenMeta, { end_turn: false }));
  add(builder, userProfileMessage());
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
  return { identityId, developerId, developerTime };
}

/** The hidden user message carrying the user's profile (`user_editable_context`). */
function userProfileMessage(): BackendMessage {
  return {
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
  };
}

/** The `input_message` of the developer message (prefetched tool results). */
function developerInput(builder: Builder, developer: Developer): Record<string, unknown> {
  const { turn, ids } = builder;
  const { identityId, developerId, developerTime } = developer;
  return {
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
    conversation_id: turn.conversation.id,
  };
}

/** The model metadata the tool messages carry. */
function toolModelMeta(builder: Builder): Record<string, unknown> {
  const { turn, ids } = builder;
  return {
    request_id: ids.requestId,
    message_type: turn.action,
    turn_exchange_id: ids.turnExchangeId,
    model_slug: turn.model,
    default_model_slug: turn.model,
  };
}

/** The skill-attachment and sources messages, then the model-editable context; its id. */
function addToolMessages(builder: Builder): string {
  const { turn } = builder;
  const modelMeta = toolModelMeta(builder);
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
  add(builder, modelContextMessage(contextId, sourcesId, modelMeta));
  return contextId;
}

/** The assistant's hidden `model_editable_context` message. */
function modelContextMessage(
  contextId: string,
  sourcesId: string,
  modelMeta: Record<string, unknown>,
): BackendMessage {
  return {
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
  };
}

/** The reply's text: appends patching a token count, then the finish patch. */
function addReplyText(builder: Builder, context: EncodeContext): void {
  const { turn } = builder;
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
}
