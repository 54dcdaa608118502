// A consistent online copy of the database through SQLite's backup API, while the server keeps
// serving: the copy is written beside the target under a temporary name, checked, and only then
// given the target's name, so that a failed or interrupted backup never leaves a half-written
// file where a restore would look for one. Never overwrites.
import Database from "better-sqlite3";
import { chmodSync, existsSync, linkSync, rmSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { printable } from "../printable.js";

/** Pages copied per step: the server's connection is locked only for a step at a time. */
const PAGES_PER_STEP = 256;

export class BackupError extends Error {}

export interface BackupResult {
  pages: number;
  bytes: number;
}

export async function backupDatabase(sqlite: Database.Database, target: string, onProgress: (copied: number, total: number) => void): Promise<BackupResult> {
  if (existsSync(target)) throw new BackupError(`${printable(target)} already exists; a backup never overwrites a file`);
  const partial = `${target}.partial-${randomBytes(6).toString("hex")}`;
  try {
    const { totalPages } = await sqlite.backup(partial, {
      progress: ({ totalPages: total, remainingPages }) => {
        onProgress(total - remainingPages, total);
        return PAGES_PER_STEP;
      },
    });
    onProgress(totalPages, totalPages);
    const copy = new Database(partial, { readonly: true, fileMustExist: true });
    let bytes: number;
    try {
      const check = copy.pragma("quick_check", { simple: true });
      if (check !== "ok") throw new BackupError(`the copy failed its integrity check (${String(check)})`);
      bytes = (copy.pragma("page_count", { simple: true }) as number) * (copy.pragma("page_size", { simple: true }) as number);
    } finally {
      copy.close();
    }
    // It holds sealed secrets and the audit log: readable by its owner only.
    chmodSync(partial, 0o600);
    // link, unlike rename, fails when the target appeared meanwhile.
    linkSync(partial, target);
    return { pages: totalPages, bytes };
  } finally {
    rmSync(partial, { force: true });
  }
}
