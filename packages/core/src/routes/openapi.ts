/** `GET /openapi.json`: the API description, public (it never calls the upstream). */
import { OPENAPI_DOCUMENT } from '../http/openapi.js';
import { jsonResponse } from '../http/responses.js';
import type { Route } from './context.js';

export const openapiRoute: Route = {
  kind: 'collection',
  path: '/openapi.json',
  public: true,
  methods: { GET: () => Promise.resolve(jsonResponse(200, OPENAPI_DOCUMENT)) },
};
