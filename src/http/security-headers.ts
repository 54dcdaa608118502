import type { IncomingMessage, ServerResponse } from "node:http";

export function setSecurityHeaders(res: ServerResponse, tls: boolean): void {
  res.setHeader("x-content-type-options", "nosniff");
  res.setHeader("referrer-policy", "no-referrer");
  res.setHeader("cache-control", "no-store");
  res.setHeader("x-frame-options", "DENY");
  res.setHeader("content-security-policy", "default-src 'none'; frame-ancestors 'none'");
  if (tls) res.setHeader("strict-transport-security", "max-age=63072000; includeSubDomains");
}

/** CORS for the configured browser origins only; other origins get no CORS headers at all. */
export function applyCors(req: IncomingMessage, res: ServerResponse, allowed: ReadonlySet<string>): boolean {
  res.setHeader("vary", "Origin");
  const origin = req.headers.origin;
  if (!origin || !allowed.has(origin)) return false;
  res.setHeader("access-control-allow-origin", origin);
  res.setHeader("access-control-allow-methods", "GET, POST, OPTIONS");
  res.setHeader("access-control-allow-headers", "authorization, content-type, apollo-require-preflight, x-apollo-operation-name");
  res.setHeader("access-control-expose-headers", "x-request-id");
  res.setHeader("access-control-max-age", "600");
  return true;
}
