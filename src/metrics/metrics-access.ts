// Who may read /metrics. With PORTCULLIS_METRICS_TOKEN set, whoever presents it as the bearer;
// without it, only a peer on this machine: the TCP peer is a loopback address and the request
// carries no forwarding header (a reverse proxy on the same host would otherwise hand the
// metrics to the whole internet). Forwarding headers never grant access.
import type { IncomingMessage } from "node:http";
import { createHash, timingSafeEqual } from "node:crypto";

export type MetricsAccess = "allowed" | "unauthenticated" | "forbidden";

export function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  const v4 = address.startsWith("::ffff:") ? address.slice(7) : address;
  return v4.startsWith("127.") || address === "::1";
}

export function metricsAccess(req: IncomingMessage, token: string | undefined): MetricsAccess {
  if (token !== undefined) {
    const header = req.headers.authorization ?? "";
    const presented = header.startsWith("Bearer ") ? header.slice(7) : "";
    // Digests of equal length: the comparison takes the same time whatever was presented.
    const digest = (s: string) => createHash("sha256").update(s).digest();
    return presented !== "" && timingSafeEqual(digest(presented), digest(token)) ? "allowed" : "unauthenticated";
  }
  const forwarded = req.headers["x-forwarded-for"] !== undefined || req.headers.forwarded !== undefined || req.headers["x-real-ip"] !== undefined;
  return isLoopback(req.socket.remoteAddress) && !forwarded ? "allowed" : "forbidden";
}
