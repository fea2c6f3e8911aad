/**
 * The router: route templates (`/conversations/:id/ask`) matched against a path below the
 * prefix. It answers with the matched template, which logs and metrics use as a low-cardinality
 * label, and the `:id` segment. It knows nothing of what a route does.
 */

/** A route: its template and a value per method (the handlers, for the core). */
export interface RouteTable<H> {
  /** The template, `:id` standing for the one id segment, as frameworks write routes. */
  path: string;
  methods: Partial<Record<string, H>>;
}

/** What a path matched. */
export interface RouteMatch<R> {
  route: R;
  /** The matched template, e.g. `/conversations/:id/messages`. */
  template: string;
  /** The `:id` segment, raw, when the template has one. */
  id: string | undefined;
}

/** Matches paths (prefix included) against the templates of `routes`. */
export interface Router<R> {
  match(pathname: string): RouteMatch<R> | undefined;
}

/** The path below `prefix` (without a trailing slash), or undefined when outside it. */
export function pathBelow(pathname: string, prefix: string): string | undefined {
  let path = pathname;
  if (prefix !== '') {
    if (path !== prefix && !path.startsWith(`${prefix}/`)) return undefined;
    path = path.slice(prefix.length);
  }
  return path.length > 1 ? path.replace(/\/$/, '') : path;
}

/** Compiles the templates once; `match` is then one regular expression test per route. */
export function createRouter<H, R extends RouteTable<H>>(
  routes: readonly R[],
  prefix: string,
): Router<R> {
  const compiled = routes.map((route) => ({
    route,
    pattern: new RegExp(`^${route.path.replace(':id', '([^/]+)')}$`),
  }));
  return {
    match(pathname) {
      const path = pathBelow(pathname, prefix);
      if (path === undefined) return undefined;
      for (const { route, pattern } of compiled) {
        const found = pattern.exec(path);
        if (found !== null) return { route, template: route.path, id: found[1] };
      }
      return undefined;
    },
  };
}
