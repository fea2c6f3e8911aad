/**
 * Checks answers against the OpenAPI document with Ajv (JSON Schema 2020-12, the dialect of
 * OpenAPI 3.1) and ajv-formats: the document is added to Ajv whole, and each answer is checked
 * against the schema the document gives for its path, method, status and media type. Event
 * streams are checked event by event, as the client reads them, against the stream's item schema.
 * What the lookup cannot find (an undocumented status, media type, header) is a problem too.
 */
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { createParser } from 'eventsource-parser';

type Json = Record<string, unknown>;

// ajv-formats is CommonJS: Node's default import is `module.exports`, whose `default` is the plugin.
const addFormats = addFormatsModule.default;

/** What the document expects of one answer: the schemas, found by JSON pointer. */
interface Expectation {
  /** Where the response object is in the document, e.g. `/paths/~1conversations/get/responses/200`. */
  pointer: string;
  response: Json;
}

/** Checks answers; each check returns its problems as sentences (none: the answer is valid). */
export interface OpenApiValidator {
  /** Checks the status, headers and JSON body (or none) of a whole answer. */
  checkAnswer(method: string, pathname: string, answer: AnswerParts): string[];
  /**
   * Wraps `response`: its status and headers are checked at once, its body as it is read (JSON
   * when whole, an event stream event by event); problems go to `report`.
   */
  watch(method: string, pathname: string, response: Response, report: Report): Response;
}

/** An answer, read whole. */
export interface AnswerParts {
  status: number;
  headers: Headers;
  /** The body's text ('' for none). */
  text: string;
}

/** Receives each problem found. */
export type Report = (problem: string) => void;

const escape = (segment: string): string =>
  encodeURIComponent(segment.replace(/~/g, '~0').replace(/\//g, '~1'));

function templateRegExp(template: string): RegExp {
  const source = template
    .split(/\{[^}]+\}/)
    .map((part) => part.replace(/[.*+?^$()|[\]\\]/g, '\\$&'))
    .join('[^/]+');
  return new RegExp(`^${source}$`);
}

function parsedData(data: string): unknown {
  try {
    return JSON.parse(data) as unknown;
  } catch {
    return data;
  }
}

/**
 * A validator for `document` (an OpenAPI 3.1 object). Paths are matched below the document's
 * first `servers` URL; concrete paths before templated ones, as OpenAPI says.
 */
export function createOpenApiValidator(document: Json): OpenApiValidator {
  const ajv = new Ajv2020({
    allErrors: true,
    allowUnionTypes: true,
    discriminator: true,
    strict: true,
  });
  addFormats(ajv);
  // Ajv compiles the document's root when a schema inside it is asked for: its own fields
  // (openapi, info, paths…) are no JSON Schema keywords, so they are declared as annotations.
  ajv.addVocabulary(Object.keys(document).filter((key) => ajv.getKeyword(key) === false));
  ajv.addSchema(document, 'openapi.json');
  const compiled = new Map<string, ValidateFunction>();
  const schemaAt = (pointer: string): ValidateFunction => {
    let validate = compiled.get(pointer);
    if (validate === undefined) {
      validate = ajv.getSchema(`openapi.json#${pointer}`);
      if (validate === undefined) throw new Error(`no schema at ${pointer}`);
      compiled.set(pointer, validate);
    }
    return validate;
  };
  const servers = document.servers as { url: string }[] | undefined;
  const base = (servers?.[0]?.url ?? '/').replace(/\/$/, '');
  const paths = document.paths as Record<string, Json>;
  const templates = Object.keys(paths)
    .sort((a, b) => Number(a.includes('{')) - Number(b.includes('{')))
    .map((template) => ({ template, pattern: templateRegExp(template) }));

  const resolve = (pointer: string, value: Json): Expectation => {
    const target = value.$ref;
    if (typeof target !== 'string') return { pointer, response: value };
    const path = target.replace(/^#/, '');
    let node: unknown = document;
    for (const part of path.split('/').slice(1)) node = (node as Json)[part];
    return resolve(path.split('/').map(escape).join('/'), node as Json);
  };

  /** What the document says `method pathname` answering `status` looks like, or a problem. */
  const expectationOf = (
    method: string,
    pathname: string,
    status: number,
  ): Expectation | string => {
    const where = `${method} ${pathname} → ${status}`;
    if (base !== '' && !pathname.startsWith(`${base}/`)) return `${where}: outside ${base}`;
    const path = pathname.slice(base.length);
    const found = templates.find(({ pattern }) => pattern.test(path));
    const rootPointer = found === undefined ? '' : `/paths/${escape(found.template)}`;
    const item = found === undefined ? undefined : paths[found.template];
    const operation = item?.[method.toLowerCase()] as Json | undefined;
    const [responses, pointer] =
      item === undefined
        ? [document['x-unmatched-path'] as Json, '/x-unmatched-path']
        : operation === undefined
          ? [item['x-other-methods'] as Json, `${rootPointer}/x-other-methods`]
          : [operation.responses as Json, `${rootPointer}/${method.toLowerCase()}/responses`];
    const response = responses[String(status)] as Json | undefined;
    if (response === undefined) return `${where}: status not in the document`;
    return resolve(`${pointer}/${status}`, response);
  };

  const checkHeaders = (where: string, expected: Expectation, headers: Headers): string[] => {
    const documented = (expected.response.headers ?? {}) as Record<string, Json>;
    const problems: string[] = [];
    for (const [name, header] of Object.entries(documented)) {
      const value = headers.get(name);
      if (value === null) {
        if (header.required === true) problems.push(`${where}: header ${name} missing`);
        continue;
      }
      const schema = header.schema as Json;
      const typed = schema.type === 'integer' && /^\d+$/.test(value) ? Number(value) : value;
      const validate = schemaAt(`${expected.pointer}/headers/${escape(name)}/schema`);
      if (!validate(typed))
        problems.push(`${where}: header ${name} ${ajv.errorsText(validate.errors)}`);
    }
    return problems;
  };

  /** The media type's schema pointer, or a problem (also when a body comes where none is said). */
  const mediaOf = (
    where: string,
    expected: Expectation,
    headers: Headers,
  ): string | undefined | Error => {
    const content = expected.response.content as Json | undefined;
    const type = (headers.get('content-type') ?? '').split(';')[0]?.trim() ?? '';
    if (content === undefined)
      return type === '' ? undefined : new Error(`${where}: ${type} body where none is documented`);
    if (!(type in content)) return new Error(`${where}: content type "${type}" not documented`);
    return `${expected.pointer}/content/${escape(type)}/schema`;
  };

  const checkValue = (where: string, pointer: string, value: unknown): string[] => {
    const validate = schemaAt(pointer);
    return validate(value)
      ? []
      : [`${where}: ${ajv.errorsText(validate.errors, { dataVar: 'body' })}`];
  };

  const start = (method: string, pathname: string, status: number, headers: Headers) => {
    const where = `${method} ${pathname} → ${status}`;
    const expected = expectationOf(method, pathname, status);
    if (typeof expected === 'string') return { where, problems: [expected] };
    const media = mediaOf(where, expected, headers);
    if (media instanceof Error) return { where, problems: [media.message] };
    return { where, problems: checkHeaders(where, expected, headers), media };
  };

  return {
    checkAnswer(method, pathname, { status, headers, text }) {
      const { where, problems, media } = start(method, pathname, status, headers);
      if (media === undefined) {
        return text === '' || problems.length > 0
          ? problems
          : [...problems, `${where}: a body where none is documented`];
      }
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        return [...problems, `${where}: the body is not JSON`];
      }
      return [...problems, ...checkValue(where, media, value)];
    },
    watch(method, pathname, response, report) {
      const { where, problems, media } = start(method, pathname, response.status, response.headers);
      for (const problem of problems) report(problem);
      if (media === undefined || response.body === null || !media.includes('text~1event-stream')) {
        return media === undefined
          ? response
          : wholeBody(response, (text) => {
              for (const problem of this.checkAnswer(method, pathname, {
                status: response.status,
                headers: response.headers,
                text,
              }))
                report(problem);
            });
      }
      const parser = createParser({
        onEvent: (event) => {
          const item =
            event.event === undefined
              ? { data: parsedData(event.data) }
              : { event: event.event, data: parsedData(event.data) };
          for (const problem of checkValue(
            `${where} (event ${event.event ?? 'data'})`,
            `${media}/items`,
            item,
          ))
            report(problem);
        },
      });
      const decoder = new TextDecoder();
      const body = response.body.pipeThrough(
        new TransformStream<Uint8Array, Uint8Array>({
          transform(chunk, controller) {
            parser.feed(decoder.decode(chunk, { stream: true }));
            controller.enqueue(chunk);
          },
        }),
      );
      return new Response(body, {
        status: response.status,
        statusText: response.statusText,
        headers: response.headers,
      });
    },
  };
}

/** `response` with its body read whole first and handed to `check`, then served again. */
function wholeBody(response: Response, check: (text: string) => void): Response {
  const text = response.text().then((read) => {
    check(read);
    return read;
  });
  const body = new ReadableStream<Uint8Array>({
    async start(controller) {
      controller.enqueue(new TextEncoder().encode(await text));
      controller.close();
    },
  });
  const { status, statusText, headers } = response;
  return new Response(status === 204 || status === 304 ? null : body, {
    status,
    statusText,
    headers,
  });
}
