// Loopback stand-ins for the outside world: an HTTP server that counts every TCP connection it
// receives, and a resolver whose answers a test controls. No test reaches beyond 127.0.0.1.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Resolver } from "../../src/net/outbound.js";

export interface CountingServer {
  port: number;
  /** TCP connections accepted so far. */
  connections(): number;
  close(): Promise<void>;
}

export async function countingServer(
  handler: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => res.end("{}"),
): Promise<CountingServer> {
  let connections = 0;
  const server = createServer(handler);
  server.on("connection", () => connections++);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    connections: () => connections,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface FakeDns {
  resolver: Resolver;
  /** Sets what a name resolves to from now on; no entry means it does not resolve. */
  set(hostname: string, ...addresses: string[]): void;
  /** Every name looked up, in order. */
  lookups: string[];
}

export function fakeDns(initial: Record<string, string[]> = {}): FakeDns {
  const table = new Map(Object.entries(initial));
  const lookups: string[] = [];
  return {
    lookups,
    set(hostname, ...addresses) {
      table.set(hostname, addresses);
    },
    async resolver(hostname) {
      lookups.push(hostname);
      const found = table.get(hostname);
      if (!found) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: "ENOTFOUND" });
      return found.map((address) => ({ address, family: address.includes(":") ? 6 : 4 }));
    },
  };
}
