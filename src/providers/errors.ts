// Every way a provider call fails, in one shape. A failure carries the HTTP status at most:
// a provider's error body may echo the credential it was sent, so it is never kept.
export type FailureKind = "http" | "timeout" | "connection" | "invalid_response" | "unsupported";

export class ProviderFailure extends Error {
  constructor(
    readonly kind: FailureKind,
    readonly httpStatus: number | null = null,
  ) {
    super(kind === "http" ? `The provider answered HTTP ${httpStatus}` : `The provider call failed: ${kind.replace("_", " ")}`);
    this.name = "ProviderFailure";
  }
}
