/**
 * A host's object for one request (the sidecar's request-log entry), kept beside the request by
 * the Node bridge and handed to the upstream `fetch` of every call made for it (`init.tag`), so
 * the host learns what those calls did without an `AsyncLocalStorage` (which on Node 20 and 22
 * puts a hook on every promise of the process). A client cannot set it.
 */
const TAGS = new WeakMap<Request, object>();

/** Records `tag` as the host's object for `request`. */
export function setRequestTag(request: Request, tag: object): void {
  TAGS.set(request, tag);
}

/** The host's object for `request`, if it gave one. */
export function requestTagOf(request: Request): object | undefined {
  return TAGS.get(request);
}
