// Moves SQLite's WAL checkpoints off the request path. With auto-checkpointing, the commit that
// crosses 1000 WAL pages copies them all into the database file while its caller waits: measured
// at about two thirds of the cost of a model call's usage-and-audit commit. Here the serving
// connection never checkpoints; a worker thread with its own connection runs a PASSIVE
// checkpoint (which never blocks writers) a few times a second while anything was written.
import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";
import type Database from "better-sqlite3";

const INTERVAL_MS = 200;

// Plain CommonJS, evaluated in the worker: it has no bundle of its own to load.
const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const Database = require(workerData.driver);
const db = new Database(workerData.path);
db.pragma("busy_timeout = 5000");
parentPort.on("message", (m) => {
  try {
    db.pragma(m === "final" ? "wal_checkpoint(TRUNCATE)" : "wal_checkpoint(PASSIVE)");
  } catch {}
  if (m === "final") db.close();
  parentPort.postMessage(m);
});
`;

export class BackgroundCheckpointer {
  private readonly worker: Worker;
  private readonly timer: NodeJS.Timeout;
  private readonly changes: Database.Statement;
  private lastChanges = -1;
  private busy = false;
  private stopped = false;

  constructor(
    private readonly sqlite: Database.Database,
    path: string,
    onFailure: (err: Error) => void,
  ) {
    this.changes = sqlite.prepare("SELECT total_changes()").pluck();
    const driver = createRequire(import.meta.url).resolve("better-sqlite3");
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { driver, path } });
    this.worker.unref();
    this.worker.on("message", () => {
      this.busy = false;
    });
    this.worker.on("error", (err) => this.fallBack(err, onFailure));
    this.worker.on("exit", (code) => {
      if (!this.stopped) this.fallBack(new Error(`the checkpoint worker exited (${code})`), onFailure);
    });
    sqlite.pragma("wal_autocheckpoint = 0");
    this.timer = setInterval(() => this.tick(), INTERVAL_MS);
    this.timer.unref();
  }

  private tick(): void {
    // A connection closed under the server (it is failing): nothing to checkpoint, and reading it would throw from a timer.
    if (this.busy || this.stopped || !this.sqlite.open) return;
    const changes = this.changes.get() as number;
    if (changes === this.lastChanges) return;
    this.lastChanges = changes;
    this.busy = true;
    this.worker.postMessage("passive");
  }

  /** Without the worker the serving connection checkpoints again, as SQLite does by default. */
  private fallBack(err: Error, onFailure: (err: Error) => void): void {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.timer);
    if (this.sqlite.open) this.sqlite.pragma("wal_autocheckpoint = 1000");
    onFailure(err);
  }

  /** A last full checkpoint (the WAL is emptied), then the worker ends. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.timer);
    const done = new Promise<void>((resolve) => {
      this.worker.on("message", (m) => m === "final" && resolve());
      this.worker.once("exit", () => resolve());
    });
    this.worker.postMessage("final");
    await done;
    await this.worker.terminate();
  }
}
