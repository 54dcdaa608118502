// Opens the SQLite database: checks that the file is a database before touching it, sets the
// pragmas, and applies drizzle's migrations in one transaction.
import Database from "better-sqlite3";
import { sql } from "drizzle-orm";
import { drizzle, type BetterSQLite3Database } from "drizzle-orm/better-sqlite3";
import { migrate } from "drizzle-orm/better-sqlite3/migrator";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { packageRoot } from "../package-root.js";
import * as schema from "./schema.js";

export type Db = BetterSQLite3Database<typeof schema>;

export interface OpenedDatabase {
  db: Db;
  sqlite: Database.Database;
  path: string;
}

export class DatabaseStartupError extends Error {}

export const migrationsFolder = join(packageRoot, "drizzle");

export function databasePath(dataDir: string): string {
  return join(dataDir, "portcullis.db");
}

/**
 * NORMAL: in WAL mode a commit survives the process being killed, but the last commits before a
 * power loss or kernel crash may be lost (never half-applied). FULL: the WAL is synced on every
 * commit, so they survive that too, at the cost of an fsync per commit.
 */
export type Synchronous = "normal" | "full";

export function openDatabase(dataDir: string, migrations = migrationsFolder, synchronous: Synchronous = "normal"): OpenedDatabase {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const path = databasePath(dataDir);
  let sqlite: Database.Database;
  try {
    sqlite = new Database(path);
  } catch (err) {
    throw new DatabaseStartupError(`Cannot open the database at ${path}: ${(err as Error).message}`);
  }
  try {
    // A read first: on a corrupt or foreign file this fails before any pragma could write to it.
    sqlite.prepare("SELECT count(*) FROM sqlite_schema").get();
    const integrity = sqlite.pragma("quick_check", { simple: true });
    if (integrity !== "ok") throw new Error(`integrity check failed: ${String(integrity)}`);
  } catch (err) {
    sqlite.close();
    throw new DatabaseStartupError(
      `The database at ${path} is unreadable or corrupt (${(err as Error).message}); it was left untouched. Restore it from a backup or move it away.`,
    );
  }
  sqlite.pragma("journal_mode = WAL");
  sqlite.pragma("foreign_keys = ON");
  sqlite.pragma("busy_timeout = 5000");
  sqlite.pragma(`synchronous = ${synchronous === "full" ? "FULL" : "NORMAL"}`);
  // Deleted rows (a virtual key's ciphertext, a shredded data key) are overwritten with zeros
  // instead of lingering in free pages.
  sqlite.pragma("secure_delete = ON");
  const db = drizzle(sqlite, { schema });
  try {
    // drizzle's migrator runs every pending migration inside one BEGIN ... COMMIT.
    migrate(db, { migrationsFolder: migrations });
  } catch (err) {
    sqlite.close();
    throw new DatabaseStartupError(`Database migration failed, nothing was changed: ${(err as Error).message}`);
  }
  return { db, sqlite, path };
}

/**
 * Copies the write-ahead log into the database and empties it, so that the old page images
 * of deleted rows leave the -wal file too. Best effort: a reader still open elsewhere can keep
 * part of the log until the next checkpoint.
 */
export function flushDeletedPages(db: Db): void {
  db.all(sql`PRAGMA wal_checkpoint(TRUNCATE)`);
}

/** True when every migration that ships with this build has been applied. */
export function migrationsApplied(sqlite: Database.Database, expected: number): boolean {
  const row = sqlite.prepare("SELECT count(*) AS n FROM __drizzle_migrations").get() as { n: number };
  return row.n >= expected;
}
