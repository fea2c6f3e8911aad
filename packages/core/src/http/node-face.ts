/**
 * The Node face of a handler: the same handler without its web-boundary work, for the core's own
 * Node writers. It may answer with a `WholeResponse` (see `whole-response.ts`), which only those
 * writers may hold, and it takes the Node bridge's request view (see `node/request-view.ts`),
 * which implements only what the core reads of a `Request`.
 */

/** A handler as the Node bridge calls it. */
export type NodeFace = (request: Request) => Promise<Response>;

const NODE_FACE = Symbol.for('chatgpt-rest.node-face');

/** Gives `handler` its Node face `face`; returns `handler`. */
export function withNodeFace<T extends object>(handler: T, face: NodeFace): T {
  Object.defineProperty(handler, NODE_FACE, { value: face });
  return handler;
}

/** The Node face of `handler`, or undefined for a handler that has none (any host's own). */
export function nodeFaceOf(handler: object): NodeFace | undefined {
  const face = (handler as { [NODE_FACE]?: unknown })[NODE_FACE];
  return typeof face === 'function' ? (face as NodeFace) : undefined;
}
