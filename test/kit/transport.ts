import { createNodeFetch, forwardingFetch } from '@chatgpt-rest/core';

/** The core's built-in transport, keeping every response it gave (to check what it built). */
export function recordingTransport(): { fetch: typeof globalThis.fetch; seen: Response[] } {
  const seen: Response[] = [];
  const inner = createNodeFetch({ connectTimeout: 1000 });
  // It hands `init` on unchanged: the core uses it as it would the transport itself.
  const fetch: typeof globalThis.fetch = forwardingFetch(inner, async (input, init) => {
    const response = await inner(input, init);
    seen.push(response);
    return response;
  });
  return { fetch, seen };
}
