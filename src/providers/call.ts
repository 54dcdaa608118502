// The one engine every adapter runs on: build the wire request, send it through the guarded
// outbound client with a deadline, read a bounded JSON answer, and turn every failure into a
// ProviderFailure that holds nothing of the provider's body.
import type { OutboundClient } from "../net/outbound.js";
import type { ProviderAdapter } from "./adapter.js";
import { ProviderFailure } from "./errors.js";
import type { ChatRequest, ChatResult, ProviderEndpoint } from "./types.js";

const MAX_RESPONSE_BYTES = 4 * 1024 * 1024;

export interface ProviderCall {
  adapter: ProviderAdapter;
  endpoint: ProviderEndpoint;
  secret: string;
  request: ChatRequest;
  timeoutMs: number;
}

export async function callProvider(outbound: OutboundClient, call: ProviderCall): Promise<ChatResult> {
  const wire = call.adapter.toWire(call.endpoint, call.secret, call.request);
  const deadline = AbortSignal.timeout(call.timeoutMs);
  let text: string;
  let status: number;
  try {
    const res = await outbound.request(wire.url, {
      method: "POST",
      query: wire.query,
      headers: { "content-type": "application/json", accept: "application/json", ...wire.headers },
      body: JSON.stringify(wire.body),
      signal: deadline,
      timeoutMs: call.timeoutMs,
    });
    status = res.statusCode;
    if (status < 200 || status >= 300) {
      // Drained and dropped: an error body may echo the credential.
      await res.body.dump({ limit: MAX_RESPONSE_BYTES }).catch(() => undefined);
      throw new ProviderFailure("http", status);
    }
    text = await readBounded(res.body);
  } catch (err) {
    if (err instanceof ProviderFailure) throw err;
    if (deadline.aborted || isTimeout(err)) throw new ProviderFailure("timeout");
    throw new ProviderFailure("connection");
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new ProviderFailure("invalid_response", status);
  }
  return call.adapter.fromWire(body, call.request);
}

async function readBounded(body: AsyncIterable<Buffer> & { destroy(): void }): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > MAX_RESPONSE_BYTES) {
      body.destroy();
      throw new ProviderFailure("invalid_response");
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function isTimeout(err: unknown): boolean {
  const e = err as { name?: string; code?: string } | null;
  return e?.name === "TimeoutError" || e?.code === "UND_ERR_HEADERS_TIMEOUT" || e?.code === "UND_ERR_BODY_TIMEOUT" || e?.code === "UND_ERR_CONNECT_TIMEOUT";
}
