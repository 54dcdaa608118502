// The one HTTP client for every call that leaves the process (OIDC discovery and JWKS,
// providers). It resolves names itself, refuses private, loopback, link-local, CGNAT and
// metadata addresses, connects to exactly the address it checked, follows no redirect, and
// has timeouts on connect, headers and body.
import { lookup as dnsLookup } from "node:dns/promises";
import type { LookupAddress } from "node:dns";
import { isIP } from "node:net";
import { Agent, request, type Dispatcher } from "undici";
import { addressRefusal, checkUrlShape, EndpointRefusedError, stripBrackets } from "./address-policy.js";

export { EndpointRefusedError };

/** Resolves a host name to its addresses. Tests inject one, so no test needs DNS. */
export type Resolver = (hostname: string) => Promise<{ address: string; family: 4 | 6 }[]>;

export const systemResolver: Resolver = async (hostname) =>
  (await dnsLookup(hostname, { all: true, verbatim: true })).map((a) => ({ address: a.address, family: a.family as 4 | 6 }));

export interface OutboundOptions {
  allowPrivateNetwork: boolean;
  resolver?: Resolver;
  connectTimeoutMs?: number;
  headersTimeoutMs?: number;
  bodyTimeoutMs?: number;
}

export interface OutboundRequest {
  method?: Dispatcher.HttpMethod;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Query parameters, kept apart from the URL so that the URL is checked like a stored endpoint (no query). */
  query?: Record<string, string>;
  /** Overall deadline for the call. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export class OutboundClient {
  private readonly resolver: Resolver;
  private readonly agent: Agent;

  constructor(private readonly options: OutboundOptions) {
    this.resolver = options.resolver ?? systemResolver;
    this.agent = new Agent({
      connectTimeout: options.connectTimeoutMs ?? 5_000,
      headersTimeout: options.headersTimeoutMs ?? 30_000,
      bodyTimeout: options.bodyTimeoutMs ?? 60_000,
      connect: { lookup: this.lookup },
    });
  }

  /** Checks a URL as a stored endpoint: shape, and every address its name resolves to now. */
  async checkEndpoint(raw: string): Promise<URL> {
    const url = checkUrlShape(raw, this.options);
    if (!this.options.allowPrivateNetwork) await this.resolveAllowed(stripBrackets(url.hostname));
    return url;
  }

  async request(raw: string | URL, init: OutboundRequest = {}): Promise<Dispatcher.ResponseData<unknown>> {
    const url = checkUrlShape(raw.toString(), this.options);
    const deadline = init.timeoutMs ? new Deadline(init.timeoutMs, init.signal) : undefined;
    try {
      const res = await request(url, {
        method: init.method ?? "GET",
        headers: init.headers,
        body: init.body,
        query: init.query,
        signal: deadline?.signal ?? init.signal,
        // The call's own deadline governs; the agent's defaults would cut a long completion short.
        ...(init.timeoutMs && { headersTimeout: init.timeoutMs, bodyTimeout: init.timeoutMs }),
        // undici's request never follows redirects (that takes an explicit interceptor).
        dispatcher: this.agent,
      });
      // The deadline covers the body too; it ends with it, whoever reads it.
      if (deadline) res.body.once("close", deadline.end);
      return res;
    } catch (err) {
      deadline?.end();
      throw err;
    }
  }

  /** GET a JSON document (discovery, JWKS), with a size cap. */
  async getJson(raw: string | URL, timeoutMs = 5_000, maxBytes = 1_048_576): Promise<{ status: number; body: unknown }> {
    const res = await this.request(raw, { timeoutMs, headers: { accept: "application/json" } });
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of res.body) {
      size += (chunk as Buffer).length;
      if (size > maxBytes) {
        res.body.destroy();
        throw new Error("The response is too large");
      }
      chunks.push(chunk as Buffer);
    }
    const text = Buffer.concat(chunks).toString("utf8");
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new Error("The response is not JSON");
    }
    return { status: res.statusCode, body };
  }

  close(): Promise<void> {
    return this.agent.close();
  }

  private async resolveAllowed(hostname: string): Promise<{ address: string; family: 4 | 6 }[]> {
    if (isIP(hostname)) {
      const refusal = this.options.allowPrivateNetwork ? undefined : addressRefusal(hostname);
      if (refusal) throw new EndpointRefusedError(`The host is a ${refusal}`);
      return [{ address: hostname, family: isIP(hostname) as 4 | 6 }];
    }
    let addresses: { address: string; family: 4 | 6 }[];
    try {
      addresses = await this.resolver(hostname);
    } catch {
      addresses = [];
    }
    if (addresses.length === 0) throw new EndpointRefusedError("The host name does not resolve");
    if (!this.options.allowPrivateNetwork) {
      // Every address must be allowed: a name with one public and one private address is refused.
      for (const a of addresses) {
        const refusal = addressRefusal(a.address);
        if (refusal) throw new EndpointRefusedError(`The host resolves to a ${refusal}`);
      }
    }
    return addresses;
  }

  /** net.connect's lookup hook: the connection goes to the address checked here, nowhere else. */
  private readonly lookup = (
    hostname: string,
    opts: { all?: boolean } | number | undefined,
    callback: (err: Error | null, address: string | LookupAddress[], family?: number) => void,
  ): void => {
    this.resolveAllowed(stripBrackets(hostname)).then(
      (addresses) => {
        if (typeof opts === "object" && opts?.all) callback(null, addresses);
        else callback(null, addresses[0].address, addresses[0].family);
      },
      (err: Error) => callback(err, ""),
    );
  };
}

/**
 * A call's deadline, joined with the caller's signal. One timer, cleared as soon as the call
 * ends: AbortSignal.timeout would keep a timer (and its signal) alive for the whole timeout
 * after every call, thousands of them under load, and AbortSignal.any keeps its sources.
 */
class Deadline {
  private readonly controller = new AbortController();
  private readonly timer: NodeJS.Timeout;
  readonly signal = this.controller.signal;

  constructor(
    timeoutMs: number,
    private readonly outer: AbortSignal | undefined,
  ) {
    this.timer = setTimeout(() => this.controller.abort(new DOMException("The call timed out", "TimeoutError")), timeoutMs);
    if (outer?.aborted) this.controller.abort(outer.reason);
    else outer?.addEventListener("abort", this.relay, { once: true });
  }

  private readonly relay = () => this.controller.abort(this.outer!.reason);

  readonly end = () => {
    clearTimeout(this.timer);
    this.outer?.removeEventListener("abort", this.relay);
  };
}
