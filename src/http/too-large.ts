// After a 413 the rest of the body is read and dropped for a while before the connection
// closes (RFC 9112, 9.6): a client still sending would otherwise see its connection reset
// instead of the answer. Both doors answer oversized bodies this way.
import type { IncomingMessage, ServerResponse } from "node:http";

/** How long the rest of a refused body is drained before the socket is closed regardless. */
const LINGER_MS = 5_000;

/** Call before sending the 413: the answer says it closes, and the body is drained meanwhile. */
export function closeAfterDraining(req: IncomingMessage, res: ServerResponse): void {
  res.setHeader("connection", "close");
  res.shouldKeepAlive = false;
  const socket = req.socket;
  const linger = setTimeout(() => socket.destroy(), LINGER_MS);
  linger.unref();
  req.once("end", () => clearTimeout(linger));
  req.resume();
}
