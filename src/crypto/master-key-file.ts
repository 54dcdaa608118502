// Development convenience: with no PORTCULLIS_MASTER_KEYS, a master key is generated once
// into the data directory (mode 0600) and reused. Production refuses to start without one.
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseMasterKeys, type MasterKey } from "../config.js";

export function masterKeyFilePath(dataDir: string): string {
  return join(dataDir, "master.key");
}

export function loadOrCreateDevMasterKeys(dataDir: string): { keys: MasterKey[]; created: boolean; path: string } {
  const path = masterKeyFilePath(dataDir);
  if (existsSync(path)) {
    return { keys: parseMasterKeys(readFileSync(path, "utf8").trim()), created: false, path };
  }
  writeFileSync(path, `1:${randomBytes(32).toString("base64")}\n`, { mode: 0o600, flag: "wx" });
  chmodSync(path, 0o600);
  return { keys: parseMasterKeys(readFileSync(path, "utf8").trim()), created: true, path };
}
