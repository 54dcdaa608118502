// The development explorer: GET /explorer is GraphiQL's page, /explorer/assets/<file> the files
// scripts/build-explorer.mjs wrote into dist/explorer. Every one of them comes from this server;
// the page calls /graphql like any client. In production nothing here is mounted (src/server.ts),
// so these paths answer the 404 of every unknown path.
import { createReadStream, statSync, type Stats } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { extname, join } from "node:path";
import { pipeline } from "node:stream/promises";
import { randomBase62 } from "../crypto/random.js";
import { packageRoot } from "../package-root.js";
import { sendError } from "./respond.js";
import { explorerContentSecurityPolicy } from "./security-headers.js";

export const EXPLORER_PATH = "/explorer";
const ASSETS = `${EXPLORER_PATH}/assets/`;
const FOLDER = join(packageRoot, "dist", "explorer");

const CONTENT_TYPES: Record<string, string> = {
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".woff2": "font/woff2",
  ".woff": "font/woff",
  ".ttf": "font/ttf",
  ".svg": "image/svg+xml",
  ".png": "image/png",
};

// The build names its files with letters, digits, dots, dashes and underscores only: anything
// else (a slash, an encoded one, a leading dot) cannot be one of them.
const FILE_NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/;

export function isExplorerPath(path: string): boolean {
  return path === EXPLORER_PATH || path.startsWith(ASSETS);
}

export function createExplorer() {
  function page(res: ServerResponse, requestId: string): void {
    if (!fileStats(join(FOLDER, "explorer.js"))) {
      return sendError(res, 503, "INTERNAL_SERVER_ERROR", "The explorer is not built: run npm run build", requestId);
    }
    // A new nonce per response; it rides on the stylesheet link, where explorer/style-nonce.ts reads it.
    const nonce = randomBase62(22);
    const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Portcullis explorer</title>
<link rel="stylesheet" href="${ASSETS}explorer.css" nonce="${nonce}">
<script type="module" src="${ASSETS}explorer.js"></script>
</head>
<body><div id="explorer"></div></body>
</html>
`;
    res.statusCode = 200;
    res.setHeader("content-type", "text/html; charset=utf-8");
    res.setHeader("content-security-policy", explorerContentSecurityPolicy(nonce));
    res.setHeader("content-length", Buffer.byteLength(html));
    res.end(html);
  }

  async function asset(res: ServerResponse, name: string, requestId: string): Promise<void> {
    const type = CONTENT_TYPES[extname(name)];
    const stats = FILE_NAME.test(name) && type ? fileStats(join(FOLDER, name)) : undefined;
    if (!stats) return sendError(res, 404, "NOT_FOUND", "No such endpoint", requestId);
    res.statusCode = 200;
    res.setHeader("content-type", type);
    res.setHeader("content-length", stats.size);
    await pipeline(createReadStream(join(FOLDER, name)), res);
  }

  return async function explorer(req: IncomingMessage, res: ServerResponse, path: string, requestId: string): Promise<void> {
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.setHeader("allow", "GET, HEAD");
      return sendError(res, 405, "BAD_REQUEST", "Use GET", requestId);
    }
    if (path === EXPLORER_PATH) page(res, requestId);
    else await asset(res, path.slice(ASSETS.length), requestId);
  };
}

export type Explorer = ReturnType<typeof createExplorer>;

function fileStats(path: string): Stats | undefined {
  const stats = statSync(path, { throwIfNoEntry: false });
  return stats?.isFile() ? stats : undefined;
}
