/**
 * @chatgpt-rest/fastify: `app.register(chatGptRoutes, options)` adds the chatgpt-rest REST API to
 * a Fastify 5 app as real routes. All behaviour lives in @chatgpt-rest/core; this file only bridges.
 */
import { createHandler, frameworkResponse, type ChatGptRestOptions } from '@chatgpt-rest/core';
import type { FastifyInstance, FastifyPluginAsync, HTTPMethods } from 'fastify';
import fp from 'fastify-plugin';

export * from '@chatgpt-rest/core';

/** Plugin options: the core's options; `prefix` also places the routes. */
export type ChatGptRoutesOptions = ChatGptRestOptions;

const plugin: FastifyPluginAsync<ChatGptRoutesOptions> = async (fastify, options) => {
  const handler = createHandler(options);
  // fastify-plugin keeps our decorators visible but would leak parsers and hooks to the parent,
  // so the routes live in an encapsulated child scope (as @fastify/http-proxy does).
  await fastify.register(
    (scope: FastifyInstance, _options, done) => {
      // The core reads bodies itself (JSON or form, with its limit): leave the stream unread.
      scope.removeAllContentTypeParsers();
      scope.addContentTypeParser('*', (_request, _payload, done) => done(null));
      const methods: HTTPMethods[] = ['GET', 'POST', 'PATCH', 'PUT', 'DELETE', 'OPTIONS'];
      for (const route of handler.routes) {
        scope.route({
          method: methods, // every method, so that the core answers 405 with `Allow`
          url: route.path,
          handler: async (request, reply) => {
            const answer = await frameworkResponse(handler, request.raw, reply.raw, {
              url: request.url,
              bodyLimit: handler.options.limits.body,
              // The client's valid X-Request-Id, else Fastify's own id: host and core lines match.
              requestId: request.id,
            });
            // Fastify's own path: the host's onSend/onResponse hooks see our status and headers,
            // and headers its onRequest hooks set (CORS, helmet) stay unless we set the same.
            reply.code(answer.status);
            for (const [name, value] of answer.headers) reply.header(name, value);
            return reply.send(answer.body);
          },
        });
      }
      done();
    },
    { prefix: options.prefix ?? '' },
  );
};

/** The Fastify plugin serving the REST API. */
export const chatGptRoutes = fp(plugin, { name: '@chatgpt-rest/fastify', fastify: '5.x' });
export default chatGptRoutes;
