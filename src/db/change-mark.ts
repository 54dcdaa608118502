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
   * happened in between. A model call asks several times in one synchronous run (the key's cache,
   * the policies of the call and of each target): the answer is kept until that run ends, or until
   * changed() says this connection wrote something a cache holds.
   */
  current(): string {
    if (this.memo === null) {
      this.memo = `${(this.totalChanges.get() as number) - this.untrackedChanges}:${this.dataVersion.get() as number}`;
      queueMicrotask(this.forget);
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
    const before = this.totalChanges.get() as number;
    try {
      return write();
    } finally {
      this.untrackedChanges += (this.totalChanges.get() as number) - before;
    }
  }
}
