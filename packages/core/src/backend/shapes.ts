/**
 * Checks that an upstream JSON answer has the shape the core reads before anything reads it:
 * a body that is not (null, `{}`, an array, a string, a node that is not an object) is a 502
 * `upstream_error` and never reaches the cache. Unknown fields are kept, as the backend adds
 * fields without notice. Each check is one pass over the data the parser already built.
 */
import { RestError } from '../errors.js';
import type { BackendConversation, BackendConversationList } from './types.js';
import { isObject } from './json.js';

function optional(value: unknown, check: (v: unknown) => boolean): boolean {
  return value === undefined || value === null || check(value);
}

const isString = (value: unknown): boolean => typeof value === 'string';
const isTime = (value: unknown): boolean => typeof value === 'number' || typeof value === 'string';

function malformed(what: string): RestError {
  return new RestError('upstream_error', `The upstream answered with a malformed ${what}.`);
}

function isMessage(value: unknown): boolean {
  if (!isObject(value)) return false;
  return (
    isObject(value.content) &&
    optional(value.content.parts, Array.isArray) &&
    optional(value.author, isObject) &&
    optional(value.metadata, isObject) &&
    optional(value.create_time, isTime)
  );
}

function isNode(value: unknown): boolean {
  if (!isObject(value)) return false;
  return (
    optional(value.parent, isString) &&
    Array.isArray(value.children) &&
    value.children.every(isString) &&
    optional(value.message, isMessage)
  );
}

/** The conversation tree of `GET /conversation/{id}`, checked. */
export function asConversation(value: unknown): BackendConversation {
  if (
    !isObject(value) ||
    !isObject(value.mapping) ||
    !isString(value.current_node) ||
    !optional(value.title, isString) ||
    !optional(value.create_time, isTime) ||
    !optional(value.update_time, isTime) ||
    !Object.values(value.mapping).every(isNode)
  ) {
    throw malformed('conversation');
  }
  return value as BackendConversation;
}

function isSummary(value: unknown): boolean {
  return isObject(value) && isString(value.id) && optional(value.title, isString);
}

/** The page of `GET /conversations`, checked; a missing `total` becomes the page's length. */
export function asConversationList(value: unknown): BackendConversationList {
  if (!isObject(value) || !Array.isArray(value.items) || !value.items.every(isSummary)) {
    throw malformed('conversation list');
  }
  const total = typeof value.total === 'number' ? value.total : value.items.length;
  return { ...value, total } as BackendConversationList;
}
