// Every way a provider call fails, in one shape. A failure carries the HTTP status and the
// provider's retry-after at most: a provider's error body may echo the credential it was sent,
// so it is never kept.
export type FailureKind = "http" | "timeout" | "connection" | "invalid_response" | "unsupported" | "stream_cut" | "aborted";

export class ProviderFailure extends Error {
  constructor(
    readonly kind: FailureKind,
    readonly httpStatus: number | null = null,
    /** The provider's retry-after (seconds or an HTTP date), in milliseconds, when it sent one. */
    readonly retryAfterMs: number | null = null,
  ) {
    super(kind === "http" ? `The provider answered HTTP ${httpStatus}` : `The provider call failed: ${kind.replace("_", " ")}`);
    this.name = "ProviderFailure";
  }
}

/** The request asks for something this provider cannot do (n > 1 on Anthropic): the caller's 400, naming the field. */
export class UnsupportedByProvider extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = "UnsupportedByProvider";
  }
}
