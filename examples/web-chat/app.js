/**
 * The web chat: a conversation list, the messages of the open one, and a form to ask; replies
 * appear as they stream. Plain ES modules, no build step; served by `npm run demo` at `/`.
 */
import { apiError, createApi } from './api.js';

/** @param {string} id */
const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));
const tokenInput = /** @type {HTMLInputElement} */ ($('token'));
tokenInput.value = localStorage.getItem('chatgpt-rest-token') ?? 'demo-token';
tokenInput.addEventListener('change', () => {
  localStorage.setItem('chatgpt-rest-token', tokenInput.value.trim());
  void guarded(refreshList);
});
const api = createApi('', () => tokenInput.value.trim());

/** @type {{id: string | null, busy: boolean}} */
const state = { id: null, busy: false };

/** @param {unknown} error */
function showError(error) {
  const box = $('error');
  box.textContent = error instanceof Error ? error.message : String(error);
  box.hidden = false;
}

function clearError() {
  $('error').hidden = true;
}

/** Runs `action`, showing its failure in words; the buttons wait while it runs. */
async function guarded(/** @type {() => Promise<void>} */ action) {
  clearError();
  state.busy = true;
  document.body.toggleAttribute('data-busy', true);
  try {
    await action();
  } catch (error) {
    showError(error);
  } finally {
    state.busy = false;
    document.body.toggleAttribute('data-busy', false);
  }
}

/** Adds a message to the list; returns its text element. */
function addMessage(/** @type {string} */ role, /** @type {string} */ text) {
  const item = document.createElement('li');
  item.className = role;
  const who = document.createElement('span');
  who.className = 'role';
  who.textContent = role === 'user' ? 'You' : 'ChatGPT';
  const body = document.createElement('span');
  body.className = 'text';
  body.textContent = text;
  item.append(who, body);
  $('messages').append(item);
  return body;
}

async function refreshList() {
  /** @type {{id: string, title: string | null}[]} */
  const list = await api.get('/conversations?limit=50');
  const items = list.map((conversation) => {
    const button = document.createElement('button');
    button.type = 'button';
    button.textContent = conversation.title ?? 'Untitled';
    button.setAttribute('aria-current', String(conversation.id === state.id));
    button.addEventListener('click', () => void guarded(() => open(conversation.id)));
    const item = document.createElement('li');
    item.append(button);
    return item;
  });
  $('conversations').replaceChildren(...items);
  const current = list.find((conversation) => conversation.id === state.id);
  $('title').textContent = current?.title ?? (state.id === null ? 'New conversation' : 'Untitled');
  $('actions').hidden = state.id === null;
}

/** Opens a conversation (or, with null, a new one) and shows its messages. */
async function open(/** @type {string | null} */ id) {
  state.id = id;
  history.replaceState(null, '', id === null ? '#' : `#${id}`);
  $('messages').replaceChildren();
  if (id !== null) {
    /** @type {{author: {role: string}, message: string}[]} */
    const messages = await api.get(`/conversations/${id}/messages`);
    for (const message of messages) {
      addMessage(message.author.role === 'user' ? 'user' : 'assistant', message.message);
    }
  }
  await refreshList();
}

/** Streams a turn into `target`, a live region the screen reader reads once it is complete. */
async function streamInto(
  /** @type {HTMLElement} */ target,
  /** @type {string} */ path,
  /** @type {Record<string, unknown>} */ body,
) {
  const item = /** @type {HTMLElement} */ (target.parentElement);
  item.setAttribute('aria-live', 'polite');
  item.setAttribute('aria-busy', 'true');
  target.textContent = '';
  try {
    await api.stream(path, body, (name, data) => {
      if (name === 'delta') target.textContent += data.text;
      else if (name === 'rewrite') target.textContent = data.text;
      else if (name === 'reply') {
        target.textContent = data.message;
        state.id = data.conversation_id;
      } else if (name === 'error') throw apiError(data);
    });
  } finally {
    item.setAttribute('aria-busy', 'false');
  }
}

async function ask(/** @type {string} */ prompt) {
  addMessage('user', prompt);
  const target = addMessage('assistant', '');
  const path = state.id === null ? '/conversations/new' : `/conversations/${state.id}/ask`;
  await streamInto(target, path, { prompt });
  history.replaceState(null, '', `#${state.id}`);
  await refreshList();
}

async function regenerate() {
  const replies = $('messages').querySelectorAll('.assistant .text');
  const last = replies[replies.length - 1];
  if (state.id === null || !(last instanceof HTMLElement)) return;
  await streamInto(last, `/conversations/${state.id}/regenerate`, {});
}

$('ask').addEventListener('submit', (event) => {
  event.preventDefault();
  const input = /** @type {HTMLTextAreaElement} */ ($('prompt'));
  const prompt = input.value.trim();
  if (prompt === '' || state.busy) return;
  input.value = '';
  void guarded(() => ask(prompt));
});
$('prompt').addEventListener('keydown', (event) => {
  if (event.key === 'Enter' && !event.shiftKey) {
    event.preventDefault();
    /** @type {HTMLFormElement} */ ($('ask')).requestSubmit();
  }
});
$('new-conversation').addEventListener('click', () => void guarded(() => open(null)));
$('regenerate').addEventListener('click', () => void guarded(regenerate));
$('delete').addEventListener('click', () => {
  if (state.id === null || !confirm('Delete this conversation?')) return;
  const id = state.id;
  void guarded(async () => {
    await api.remove(`/conversations/${id}`);
    await open(null);
  });
});
$('rename').addEventListener('click', () => {
  /** @type {HTMLInputElement} */ ($('new-title')).value = $('title').textContent ?? '';
  $('rename-form').hidden = false;
  $('new-title').focus();
});
$('rename-cancel').addEventListener('click', () => ($('rename-form').hidden = true));
$('rename-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const title = /** @type {HTMLInputElement} */ ($('new-title')).value.trim();
  if (state.id === null || title === '') return;
  const id = state.id;
  void guarded(async () => {
    await api.patch(`/conversations/${id}`, { title });
    $('rename-form').hidden = true;
    await refreshList();
  });
});

// A link to a conversation: `#<its id>`, used only when it is one.
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const linked = location.hash.slice(1);
void guarded(() => open(UUID.test(linked) ? linked : null));
