import { RestError } from '../errors.js';
import type { BodyFields } from './request-body.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** True when `value` looks like a UUID (8-4-4-4-12 hex digits, any version nibble). */
export function isUuid(value: string): boolean {
  return UUID.test(value);
}

function invalid(field: string, message: string): RestError {
  return new RestError('invalid_request', message, { field });
}

/** A path or body id that must be a UUID; lower-cased so cache keys agree. */
export function uuidField(field: string, value: unknown): string {
  if (typeof value !== 'string' || !isUuid(value)) {
    throw invalid(field, `${field} must be a UUID.`);
  }
  return value.toLowerCase();
}

/** An optional UUID field of a body. */
export function optionalUuid(fields: BodyFields, field: string): string | undefined {
  const value = fields[field];
  if (value === undefined || value === null || value === '') return undefined;
  return uuidField(field, value);
}

/** A required, non-blank string field of at most `max` characters. */
export function requiredText(fields: BodyFields, field: string, max: number): string {
  const value = fields[field];
  if (value === undefined || value === null) throw invalid(field, `${field} is required.`);
  if (typeof value !== 'string') throw invalid(field, `${field} must be a string.`);
  if (value.trim() === '') throw invalid(field, `${field} must not be blank.`);
  if (value.length > max) throw invalid(field, `${field} is longer than ${max} characters.`);
  return value;
}

/** An optional non-blank string field. */
export function optionalText(fields: BodyFields, field: string, max: number): string | undefined {
  const value = fields[field];
  if (value === undefined || value === null) return undefined;
  return requiredText(fields, field, max);
}

/**
 * An optional boolean: JSON `true`/`false`, or the strings `"true"`/`"false"` in any letter case
 * (the seed documented `autocontinue` as a string in a form).
 */
export function optionalBoolean(fields: BodyFields, field: string): boolean | undefined {
  const value = fields[field];
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string') {
    const lower = value.trim().toLowerCase();
    if (lower === 'true') return true;
    if (lower === 'false') return false;
  }
  throw invalid(field, `${field} must be true or false.`);
}

/** A model name: printable, no spaces, at most 100 characters. */
export function optionalModel(fields: BodyFields): string | undefined {
  const value = optionalText(fields, 'model', 100);
  if (value !== undefined && !/^[\w.:-]+$/.test(value)) {
    throw invalid('model', 'model must be a model name such as "gpt-4o".');
  }
  return value;
}

/** An integer query parameter within [min, max], or the default when absent. */
export function integerParam(
  params: URLSearchParams,
  field: string,
  { min, max, fallback }: { min: number; max: number; fallback: number },
): number {
  const raw = params.get(field);
  if (raw === null || raw === '') return fallback;
  if (!/^\d+$/.test(raw.trim())) throw invalid(field, `${field} must be an integer.`);
  const value = Number(raw.trim());
  if (value < min || value > max) {
    throw invalid(field, `${field} must be between ${min} and ${max}.`);
  }
  return value;
}
