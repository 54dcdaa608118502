import type { IncomingMessage, ServerResponse } from "node:http";

export function setSecurityHeaders(res: ServerResponse, tls: boolean): void {
  res.setHeader("x-content-type-options", "nosniff");
  res.setHeader("referrer-policy", "no-referrer");
  res.setHeader("cache-control", "no-store");
  res.setHeader("x-frame-options", "DENY");
  res.setHeader("content-security-policy", "default-src 'none'; frame-ancestors 'none'");
  if (tls) res.setHeader("strict-transport-security", "max-age=63072000; includeSubDomains");
}

/**
 * The development explorer page's policy: this origin only, plus what Monaco cannot do without.
 * The <style> elements it writes at run time apply with the page's nonce (explorer/style-nonce.ts
 * hands it to them); its inline style attributes and data: images (an error's underline) are
 * allowed as such. Nothing inline runs as script, and nothing comes from another origin.
 */
export function explorerContentSecurityPolicy(nonce: string): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    `style-src 'self' 'nonce-${nonce}'`,
    "style-src-attr 'unsafe-inline'",
    "font-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "worker-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join("; ");
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
