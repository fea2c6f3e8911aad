/** `GET /openapi.json`: the API description, public (it never calls the upstream). */
import { mountPathOf } from '../http/mount-path.js';
import { openapiDocument } from '../http/openapi.js';
import { jsonResponse } from '../http/responses.js';
import type { Route } from './context.js';

export const openapiRoute: Route = {
  kind: 'collection',
  path: '/openapi.json',
  public: true,
  methods: {
    GET: ({ request, services }) =>
      Promise.resolve(
        jsonResponse(200, openapiDocument(mountPathOf(request) + services.options.prefix)),
      ),
  },
};
