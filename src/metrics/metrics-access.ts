// Who may read /metrics. With PORTCULLIS_METRICS_TOKEN set, whoever presents it as the bearer;
// without it, only a peer on this machine: the TCP peer is a loopback address and the request
// carries no forwarding header (a reverse proxy on the same host would otherwise hand the
// metrics to the whole internet). Forwarding headers never grant access.
import type { IncomingMessage } from "node:http";
import { createHash } from "node:crypto";
import ipaddr from "ipaddr.js";
import { constantTimeEqual } from "../crypto/hashing.js";

export type MetricsAccess = "allowed" | "unauthenticated" | "forbidden";

/** 127.0.0.0/8, ::1, and IPv4-mapped 127.x (ipaddr.process unwraps those). */
function isLoopback(address: string | undefined): boolean {
  return address !== undefined && ipaddr.isValid(address) && ipaddr.process(address).range() === "loopback";
}

export function metricsAccess(req: IncomingMessage, token: string | undefined): MetricsAccess {
  if (token !== undefined) {
    const header = req.headers.authorization ?? "";
    const presented = header.startsWith("Bearer ") ? header.slice(7) : "";
    // Digests of equal length: the comparison takes the same time whatever was presented.
    const digest = (s: string) => createHash("sha256").update(s).digest();
    return presented !== "" && constantTimeEqual(digest(presented), digest(token)) ? "allowed" : "unauthenticated";
  }
  const forwarded = req.headers["x-forwarded-for"] !== undefined || req.headers.forwarded !== undefined || req.headers["x-real-ip"] !== undefined;
  return isLoopback(req.socket.remoteAddress) && !forwarded ? "allowed" : "forbidden";
}
