// Caches see another connection's commit (the CLI, raw SQL in a test) from the next turn of the
// event loop on (src/db/change-mark.ts); a test that writes that way waits for it.
export const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));
