/**
 * The sidecar's pages for people: Swagger UI at `/docs` (its assets from the swagger-ui-dist
 * package, nothing from a CDN, pointed at this server's `/openapi.json`), and a folder of static
 * files served at `/` where no route answers (the demo serves `examples/web-chat` there).
 * GET and HEAD only; only named files, never a directory listing or a file outside the folder.
 */
import { realpathSync } from 'node:fs';
import { readFile, realpath, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, extname, resolve, sep } from 'node:path';

/** What the sidecar serves besides the API. */
export interface WebPagesOptions {
  /** Serve Swagger UI at `/docs`. */
  docs: boolean;
  /** A folder served at `/` (its `index.html` for `/`). */
  staticDir: string | undefined;
  /** The path of the OpenAPI document, e.g. `/openapi.json` or `/chat/openapi.json`. */
  openapiPath: string;
}

/** Answers `req` when it is one of the pages; false when it is not (the API answers then). */
export type WebPages = (req: IncomingMessage, res: ServerResponse, path: string) => boolean;

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
};

/** The files of swagger-ui-dist the page needs, and nothing else of the package. */
const SWAGGER_FILES = ['swagger-ui.css', 'swagger-ui-bundle.js', 'favicon-32x32.png'];

// Swagger UI sets style attributes and shows data: images; everything else is this origin's.
const DOCS_POLICY =
  "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'";
const PAGE_POLICY = "default-src 'self'; frame-ancestors 'none'";

function docsPage(): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>chatgpt-rest API</title>
<link rel="stylesheet" href="/docs/swagger-ui.css">
<link rel="icon" href="/docs/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script>
</body>
</html>
`;
}

function docsInit(openapiPath: string): string {
  return `window.ui = SwaggerUIBundle({ url: ${JSON.stringify(openapiPath)}, dom_id: '#swagger-ui', deepLinking: true, validatorUrl: null });\n`;
}

function send(
  req: IncomingMessage,
  res: ServerResponse,
  body: string | Buffer,
  type: string,
  policy: string,
): void {
  res.writeHead(200, {
    'content-type': type,
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-cache',
    'x-content-type-options': 'nosniff',
    'content-security-policy': policy,
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}

/** A file's bytes, or undefined when it is not a readable file below `root`. */
async function fileBelow(root: string, path: string): Promise<Buffer | undefined> {
  const file = resolve(root, `.${path}`);
  if (!file.startsWith(root + sep)) return undefined;
  try {
    // A symbolic link must not lead out of the folder either.
    const real = await realpath(file);
    if (!real.startsWith(root + sep) || !(await stat(real)).isFile()) return undefined;
    return await readFile(real);
  } catch {
    return undefined;
  }
}

/** The folder of swagger-ui-dist, found through Node's resolution from this package. */
function swaggerDir(): string {
  const require = createRequire(import.meta.url);
  return dirname(require.resolve('swagger-ui-dist/package.json'));
}

/** What a path names: a generated text, a file to read, or nothing of ours. */
type Target =
  | { text: string; type: string; policy: string }
  | { root: string; path: string; policy: string }
  | undefined;

function docsTarget(path: string, openapiPath: string, swagger: () => string): Target {
  if (path === '/docs' || path === '/docs/') {
    return { text: docsPage(), type: TYPES['.html'] ?? '', policy: DOCS_POLICY };
  }
  if (path === '/docs/init.js') {
    return { text: docsInit(openapiPath), type: TYPES['.js'] ?? '', policy: DOCS_POLICY };
  }
  const name = path.slice('/docs/'.length);
  return SWAGGER_FILES.includes(name)
    ? { root: swagger(), path: `/${name}`, policy: DOCS_POLICY }
    : undefined;
}

/** Creates the pages; `staticDir` is resolved (symbolic links too) once, here. */
export function createWebPages(options: WebPagesOptions): WebPages {
  const root = options.staticDir === undefined ? undefined : realpathSync(options.staticDir);
  let swagger: string | undefined;
  const swaggerRoot = (): string => (swagger ??= swaggerDir());
  const targetOf = (path: string): Target => {
    if (options.docs && (path === '/docs' || path.startsWith('/docs/'))) {
      return docsTarget(path, options.openapiPath, swaggerRoot);
    }
    if (root === undefined) return undefined;
    // Hidden files (`.env`, `.git`) are never served, whatever the folder holds.
    if (path.split('/').some((segment) => segment.startsWith('.'))) return undefined;
    return { root, path: path.endsWith('/') ? `${path}index.html` : path, policy: PAGE_POLICY };
  };
  return (req, res, path) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    const target = targetOf(path);
    if (target === undefined) return false;
    if ('text' in target) {
      send(req, res, target.text, target.type, target.policy);
      return true;
    }
    const type = TYPES[extname(target.path)];
    if (type === undefined) return false;
    void fileBelow(target.root, target.path).then((body) => {
      if (body !== undefined) return send(req, res, body, type, target.policy);
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('Not found\n');
    });
    return true;
  };
}

/** The sidecar's pages for its options, the API mounted at `prefix`. */
export function sidecarPages(
  options: { docs?: boolean; staticDir?: string },
  prefix: string,
): WebPages {
  return createWebPages({
    docs: options.docs ?? false,
    staticDir: options.staticDir,
    openapiPath: `${prefix}/openapi.json`,
  });
}
