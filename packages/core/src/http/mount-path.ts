/**
 * Where a framework mounted the routes above the handler's own `prefix` (Express strips its
 * mount path before the core sees the request), kept beside the request by the Node bridge so
 * that the OpenAPI document can name it. A client cannot set it.
 */
const MOUNT_PATHS = new WeakMap<Request, string>();

/** Records that `request` arrived below `mountPath` (`/chat`). */
export function setMountPath(request: Request, mountPath: string): void {
  if (mountPath !== '' && mountPath !== '/') MOUNT_PATHS.set(request, mountPath.replace(/\/$/, ''));
}

/** The framework's mount path of `request`, or `''`. */
export function mountPathOf(request: Request): string {
  return MOUNT_PATHS.get(request) ?? '';
}
