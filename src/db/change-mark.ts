// Tells cheaply whether anything a cache holds may have changed: total_changes() moves with every
// write on this connection, data_version with every commit by another one (the CLI, a second
// process). Writes that no cache depends on (budget counters on every call) are run through
// untracked(), so that counting spend does not empty the policy cache on every call.
import type Database from "better-sqlite3";

export class ChangeMark {
  private readonly totalChanges: Database.Statement;
  private readonly dataVersion: Database.Statement;
  private untrackedChanges = 0;

  constructor(sqlite: Database.Database) {
    // Two statements: the table-valued pragma_data_version in one SELECT costs more than both.
    this.totalChanges = sqlite.prepare("SELECT total_changes()").pluck();
    this.dataVersion = sqlite.prepare("PRAGMA data_version").pluck();
  }

  /**
   * Differs from the previous value whenever a tracked write or another connection's commit
   * happened in between. A model call asks many times over several turns of its promises (the
   * key's cache, the policies of the call and of each target, its secret): the answer is kept
   * until the current turn of the event loop ends, or until changed() says this connection wrote
   * something a cache holds. Another connection's commit is thus seen at the next turn, at most
   * a few milliseconds later: revocations take effect well within the second DESIGN.md allows.
   */
  current(): string {
    if (this.memo === null) {
      this.memo = `${(this.totalChanges.get() as number) - this.untrackedChanges}:${this.dataVersion.get() as number}`;
      setImmediate(this.forget);
    }
    return this.memo;
  }

  /** A tracked write happened: the next current() reads the database again. */
  changed(): void {
    this.memo = null;
  }

  private memo: string | null = null;
  private readonly forget = () => {
    this.memo = null;
  };

  /** Runs writes that no cache depends on, so that they leave the mark as it was. */
  untracked<T>(write: () => T): T {
    // Nested (a budget settled inside a model call's grouped write): the outermost counts it all, once.
    if (this.untrackedDepth > 0) return write();
    const before = this.totalChanges.get() as number;
    this.untrackedDepth++;
    try {
      return write();
    } finally {
      this.untrackedDepth--;
      this.untrackedChanges += (this.totalChanges.get() as number) - before;
    }
  }

  private untrackedDepth = 0;
}

/**
 * A cache of what the database holds, emptied whenever the change mark moves (and when it is
 * full). Nothing is kept for a miss (load returned undefined): unknown references a caller
 * makes up cannot crowd out the real entries.
 */
export class MarkedCache<V> {
  private readonly entries = new Map<string, V>();
  private filledAt = "";

  constructor(
    private readonly mark: ChangeMark,
    private readonly maxEntries = 10_000,
  ) {}

  get(key: string, load: () => V | undefined): V | undefined {
    const mark = this.mark.current();
    if (mark !== this.filledAt || this.entries.size >= this.maxEntries) {
      this.entries.clear();
      this.filledAt = mark;
    }
    let value: V | undefined = this.entries.get(key);
    if (value === undefined) {
      value = load();
      if (value !== undefined) this.entries.set(key, value);
    }
    return value;
  }
}
