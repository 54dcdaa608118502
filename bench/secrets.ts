// Seals and opens of provider secrets per second, against a plain AES-256-GCM seal measured in
// the same run: what envelope encryption (canonical additional data, the data key lookup, the
// row read on open) costs over the cipher itself. npm run bench:secrets
import "reflect-metadata";
import { createCipheriv, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { systemClock } from "../src/clock.js";
import { KeyRing } from "../src/crypto/key-ring.js";
import { openDatabase } from "../src/db/client.js";
import { virtualKeys } from "../src/db/schema.js";
import { newId } from "../src/ids.js";
import { KeyStore } from "../src/modules/master-keys/key-store.js";
import { OrganizationService } from "../src/modules/organizations/organization.service.js";
import { ChangeMark } from "../src/db/change-mark.js";
import { SecretBox, type SecretBinding } from "../src/modules/virtual-keys/secret-box.js";
import { Provider } from "../src/modules/virtual-keys/virtual-key.type.js";

const ITERATIONS = 5_000;
const WARMUP = 500;
const SECRET = "sk-proj-" + randomBytes(36).toString("base64url");

async function measure(label: string, fn: () => unknown): Promise<number> {
  for (let i = 0; i < WARMUP; i++) await fn();
  const start = performance.now();
  for (let i = 0; i < ITERATIONS; i++) await fn();
  const seconds = (performance.now() - start) / 1000;
  const opsPerSecond = ITERATIONS / seconds;
  console.log(`${label.padEnd(44)} ${Math.round(opsPerSecond).toString().padStart(9)} ops/s  ${((seconds / ITERATIONS) * 1e6).toFixed(1).padStart(7)} us/op`);
  return opsPerSecond;
}

const dataDir = mkdtempSync(join(tmpdir(), "portcullis-bench-"));
const database = openDatabase(dataDir);
try {
  const keys = new KeyStore(database.db, new KeyRing([{ version: 1, key: randomBytes(32) }]));
  const { organizationId } = new OrganizationService(database.db, keys, systemClock).create("Bench");
  const box = new SecretBox(database.db, keys, new ChangeMark(database.sqlite));
  const binding: SecretBinding = {
    virtualKeyId: newId("VirtualKey"),
    secretVersion: 1,
    endpoint: { provider: Provider.AZURE_OPENAI, baseUrl: "https://llm.example.com/openai", providerOptions: { resourceName: "contoso", deploymentId: "gpt-4o", apiVersion: "2024-10-21" } },
  };
  const at = new Date();
  database.db
    .insert(virtualKeys)
    .values({
      id: binding.virtualKeyId,
      organizationId,
      workspaceId: null,
      name: "bench",
      slug: "bench",
      provider: binding.endpoint.provider,
      baseUrl: binding.endpoint.baseUrl,
      providerOptions: binding.endpoint.providerOptions,
      secretHint: "sk-...",
      secretVersion: 1,
      sealedSecret: box.seal(organizationId, binding, SECRET),
      createdAt: at,
      updatedAt: at,
    })
    .run();

  const rawKey = randomBytes(32);
  const plaintext = Buffer.from(SECRET, "utf8");
  console.log(`secret ${plaintext.length} bytes, ${ITERATIONS} iterations after ${WARMUP} warm-up, node ${process.version}`);
  const baseline = await measure("plain AES-256-GCM seal (baseline)", () => {
    const cipher = createCipheriv("aes-256-gcm", rawKey, randomBytes(12), { authTagLength: 16 });
    Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
  });
  const sealed = await measure("SecretBox.seal (AAD + envelope)", () => box.seal(organizationId, binding, SECRET));
  const opened = await measure("SecretBox.openSecret (row read + open)", () =>
    box.openSecret(organizationId, binding.virtualKeyId, (s) => {
      if (s.secret !== SECRET) throw new Error("opened the wrong secret");
    }),
  );
  console.log(`seal: ${(sealed / baseline).toFixed(2)}x the baseline's rate (${(baseline / sealed).toFixed(2)}x its cost)`);
  console.log(`open: ${(opened / baseline).toFixed(2)}x the baseline's rate (${(baseline / opened).toFixed(2)}x its cost)`);
} finally {
  database.sqlite.close();
  rmSync(dataDir, { recursive: true, force: true });
}
