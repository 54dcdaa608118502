// Groups the writes of concurrent model calls (usage rows, audit events) into one transaction:
// at ten calls in flight one commit serves them all instead of ten. Each write runs in its own
// savepoint, so one that fails is rolled back alone; a write's promise settles only after the
// transaction holding it has committed, so that no call is answered before its rows are durable.
import type Database from "better-sqlite3";
import type { ChangeMark } from "./change-mark.js";

interface Queued {
  write: () => unknown;
  resolve: (value: unknown) => void;
  reject: (reason: unknown) => void;
}

/** A batch larger than this is split: a long transaction would hold the write lock too long. */
const MAX_BATCH = 256;

export class GroupCommit {
  private queue: Queued[] = [];
  private scheduled = false;
  private readonly outer: Database.Transaction<(batch: Queued[], results: ({ ok: true; value: unknown } | { ok: false; error: unknown })[]) => void>;

  constructor(sqlite: Database.Database, mark: ChangeMark) {
    // better-sqlite3 runs a transaction function called inside another as a savepoint.
    const one = sqlite.transaction((write: () => unknown) => write());
    const outer = sqlite.transaction((batch: Queued[], results: ({ ok: true; value: unknown } | { ok: false; error: unknown })[]) => {
      // Alone in its transaction, a write needs no savepoint: its failure rolls back only itself anyway.
      if (batch.length === 1) return void results.push({ ok: true, value: batch[0].write() });
      for (const item of batch) {
        try {
          results.push({ ok: true, value: one(item.write) });
        } catch (error) {
          results.push({ ok: false, error });
        }
      }
    });
    this.outer = outer;
    this.flush = () => {
      this.scheduled = false;
      while (this.queue.length > 0) {
        const batch = this.queue.length > MAX_BATCH ? this.queue.splice(0, MAX_BATCH) : this.queue.splice(0);
        const results: ({ ok: true; value: unknown } | { ok: false; error: unknown })[] = [];
        try {
          // Usage rows and audit events are nothing a cache holds.
          mark.untracked(() => this.outer.immediate(batch, results));
        } catch (error) {
          for (const item of batch) item.reject(error);
          continue;
        }
        batch.forEach((item, i) => {
          const r = results[i];
          if (r.ok) item.resolve(r.value);
          else item.reject(r.error);
        });
      }
    };
  }

  private readonly flush: () => void;

  /** Runs write in the next group transaction; resolves with its result once that has committed. */
  run<T>(write: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ write, resolve: resolve as (value: unknown) => void, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(this.flush);
      }
    });
  }
}
