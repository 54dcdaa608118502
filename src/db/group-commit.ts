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
        const undoneBefore = this.undos.length;
        try {
          results.push({ ok: true, value: one(item.write) });
        } catch (error) {
          // Its savepoint rolled back: so is what it did outside the database.
          this.undo(this.undos.splice(undoneBefore));
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
        this.flushing = true;
        try {
          // Usage rows and audit events are nothing a cache holds.
          mark.untracked(() => this.outer.immediate(batch, results));
        } catch (error) {
          // The whole group rolled back, at a write alone or at COMMIT.
          this.undo(this.undos.splice(0));
          for (const item of batch) item.reject(error);
          continue;
        } finally {
          this.flushing = false;
          this.undos.length = 0;
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
  private flushing = false;
  private readonly undos: (() => void)[] = [];

  /**
   * Called by a write that changes something outside the database too (an admission closed in
   * memory): undo runs should its rows be rolled back, by its savepoint or by the group's
   * COMMIT failing. Outside a group's write it does nothing.
   */
  onRollback(undo: () => void): void {
    if (this.flushing) this.undos.push(undo);
  }

  private undo(undos: (() => void)[]): void {
    for (const fn of undos.reverse()) {
      try {
        fn();
      } catch {
        // One undo failing must not keep the others from running.
      }
    }
  }

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
