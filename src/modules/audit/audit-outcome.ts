// How a failed mutation shows in the audit log, and which failures a service recorded itself.
const DENIED_CODES = new Set(["FORBIDDEN", "UNAUTHENTICATED", "NOT_FOUND"]);

/** The outcome an audit event gives a failure with this error code. */
export function failureOutcome(code: string): "DENIED" | "FAILURE" {
  return DENIED_CODES.has(code) ? "DENIED" : "FAILURE";
}

// Errors whose event a service wrote together with what the failed call left behind (usage rows).
const alreadyAudited = new WeakSet<object>();

/** Marks an error whose audit event is already written, so that no second one is recorded. */
export function markAudited<E extends Error>(err: E): E {
  alreadyAudited.add(err);
  return err;
}

export function isAudited(err: unknown): boolean {
  return typeof err === "object" && err !== null && alreadyAudited.has(err);
}
