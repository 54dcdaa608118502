// The change mark behind the policy cache: moved by tracked writes on its connection and by
// commits on any other, left alone by the counter writes that happen on every call.
import Database from "better-sqlite3";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ChangeMark } from "../../src/db/change-mark.js";
import { nextTurn } from "../harness/turn.js";

const dir = mkdtempSync(join(tmpdir(), "portcullis-mark-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("ChangeMark", () => {

  it("moves with tracked writes and other connections' commits, not with untracked writes", async () => {
    const path = join(dir, "mark.db");
    const ours = new Database(path);
    const theirs = new Database(path);
    try {
      ours.pragma("journal_mode = WAL");
      ours.exec("CREATE TABLE cached (v); CREATE TABLE counters (v)");
      const mark = new ChangeMark(ours);
      const start = mark.current();
      mark.untracked(() => ours.prepare("INSERT INTO counters VALUES (1), (2)").run());
      expect(() => mark.untracked(() => ours.transaction(() => {
        ours.prepare("INSERT INTO counters VALUES (3)").run();
        throw new Error("rolled back");
      })())).toThrow("rolled back");
      // Nested untracked writes are counted once (a budget settled inside a grouped write).
      mark.untracked(() => mark.untracked(() => ours.prepare("INSERT INTO counters VALUES (5)").run()));
      await nextTurn();
      expect(mark.current()).toBe(start);
      ours.prepare("INSERT INTO cached VALUES (1)").run();
      // Within the same run, a write announced through changed() is seen at once.
      mark.changed();
      const afterOwnWrite = mark.current();
      expect(afterOwnWrite).not.toBe(start);
      theirs.prepare("INSERT INTO counters VALUES (4)").run();
      // Within the turn another connection's commit is not looked for; at the next one it is seen.
      expect(mark.current()).toBe(afterOwnWrite);
      await nextTurn();
      expect(mark.current()).not.toBe(afterOwnWrite);
    } finally {
      theirs.close();
      ours.close();
    }
  });
});
