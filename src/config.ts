// The only reader of process.env: one zod schema, every bad value reported at once.
import { z } from "zod";
import { isAddressOrCidr } from "./http/client-address.js";

const bool = z
  .enum(["true", "false", "1", "0", ""])
  .optional()
  .transform((v) => v === "true" || v === "1");

const list = z
  .string()
  .optional()
  .transform((v) => (v ?? "").split(",").map((s) => s.trim()).filter(Boolean));

const positiveInt = (fallback: number) =>
  z.coerce.number().int().positive().optional().transform((v) => v ?? fallback);

/** Seconds, fractions allowed (tests use a fraction of a second); kept in milliseconds. */
const positiveSeconds = (fallback: number) =>
  z.coerce.number().positive().max(86_400).optional().transform((v) => Math.round((v ?? fallback) * 1000));

const CHECKPOINT_INTERVAL_MESSAGE = "must be a number of seconds, more than 0 and at most 86400";

const masterKeyEntry = /^([1-9][0-9]{0,5}):([A-Za-z0-9+/]{43}=)$/;

const schema = z.object({
  NODE_ENV: z.string().optional(),
  PORT: z.coerce.number().int().min(0).max(65535).optional().transform((v) => v ?? 4000),
  HOST: z.string().min(1).optional().transform((v) => v ?? "127.0.0.1"),
  PORTCULLIS_DATA_DIR: z.string().min(1).optional().transform((v) => v ?? "./data"),
  PORTCULLIS_MASTER_KEYS: z
    .string()
    .optional()
    .refine(
      (v) => v === undefined || v.split(",").every((e) => masterKeyEntry.test(e.trim())),
      "must be a comma-separated list of VERSION:BASE64KEY with a positive version and a 32-byte key",
    ),
  PORTCULLIS_BOOTSTRAP_KEY: z
    .string()
    .optional()
    .refine((v) => v === undefined || /^pcl_[A-Za-z0-9_]+$/.test(v), "must be a Portcullis API key (portcullis generate-key)"),
  PORTCULLIS_ALLOW_PRIVATE_NETWORK: bool,
  TLS_CERT_FILE: z.string().min(1).optional(),
  TLS_KEY_FILE: z.string().min(1).optional(),
  PORTCULLIS_TRUSTED_PROXIES: list,
  PORTCULLIS_CORS_ORIGINS: list,
  PORTCULLIS_LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).optional(),
  PORTCULLIS_MAX_BODY_BYTES: positiveInt(1_048_576),
  PORTCULLIS_MAX_MODEL_REQUEST_BYTES: positiveInt(20_971_520),
  PORTCULLIS_AUTH_FAILURE_LIMIT: positiveInt(10),
  PORTCULLIS_AUTH_FAILURE_WINDOW_SECONDS: positiveInt(300),
  PORTCULLIS_AUTH_LOCKOUT_SECONDS: positiveInt(900),
  PORTCULLIS_WS_MAX_SUBSCRIPTIONS: positiveInt(4),
  PORTCULLIS_WS_CONNECTIONS_PER_ADDRESS: positiveInt(32),
  PORTCULLIS_WS_MAX_MESSAGE_BYTES: positiveInt(65_536),
  PORTCULLIS_WS_IDLE_TIMEOUT_SECONDS: positiveSeconds(300),
  PORTCULLIS_WS_KEEPALIVE_SECONDS: positiveSeconds(15),
  PORTCULLIS_WS_INIT_TIMEOUT_SECONDS: positiveSeconds(3),
  PORTCULLIS_ADDRESS_FAILURE_LIMIT: positiveInt(300),
  PORTCULLIS_PRINCIPAL_RATE_LIMIT: z.coerce.number().int().positive().optional(),
  PORTCULLIS_SQLITE_SYNCHRONOUS: z.enum(["normal", "full"]).optional().transform((v) => v ?? "normal"),
  PORTCULLIS_METRICS_TOKEN: z.string().min(16, "must be at least 16 characters").optional(),
  PORTCULLIS_AUDIT_CHECKPOINT_INTERVAL_SECONDS: z.coerce
    .number({ error: CHECKPOINT_INTERVAL_MESSAGE })
    .positive({ error: CHECKPOINT_INTERVAL_MESSAGE })
    .max(86_400, { error: CHECKPOINT_INTERVAL_MESSAGE })
    .optional()
    .transform((v) => Math.max(1, Math.round((v ?? 3600) * 1000))),
  // A hundred years at most: the cutoff must stay a date.
  PORTCULLIS_RETENTION_DAYS: z
    .string()
    .optional()
    .refine((v) => v === undefined || (/^[1-9][0-9]*$/.test(v) && Number(v) <= 36_500), "must be a whole number of days from 1 to 36500 (unset: keep everything)")
    .transform((v) => (v === undefined ? null : Number(v))),
  PORTCULLIS_STORE_TEXT: bool,
});

export interface MasterKey {
  version: number;
  key: Buffer;
}

export interface Config {
  production: boolean;
  port: number;
  host: string;
  dataDir: string;
  /** Undefined in development when no key is configured: a key file is generated then. */
  masterKeys?: MasterKey[];
  bootstrapKey?: string;
  allowPrivateNetwork: boolean;
  tls?: { certFile: string; keyFile: string };
  trustedProxies: string[];
  corsOrigins: string[];
  /** The bearer /metrics asks for; without one, only loopback peers are answered. */
  metricsToken: string | undefined;
  /** Failing requests per address, and requests per principal (null: none), per minute. */
  abuse: { addressFailuresPerMinute: number; principalRequestsPerMinute: number | null };
  /** What a commit survives: a killed process (normal) or also a power loss (full). */
  sqliteSynchronous: "normal" | "full";
  /** How often a serving process signs the head of every audit chain that moved. */
  auditCheckpointIntervalMs: number;
  /** Usage records and texts, and the start of each audit chain, older than this are removed; null keeps everything. */
  retentionDays: number | null;
  /** Store the redacted prompt and completion text of each call (src/privacy/redact.ts); off by default. */
  storeText: boolean;
  logLevel: string;
  maxBodyBytes: number;
  /** POST /v1/chat/completions and /v1/embeddings, whose messages may carry images. */
  maxModelRequestBytes: number;
  authFailureLimit: number;
  authFailureWindowSeconds: number;
  authLockoutSeconds: number;
  /** GraphQL subscriptions over WebSocket (src/http/websocket.ts). */
  websocket: {
    maxSubscriptions: number;
    /** WebSocket connections open at once from one address (an IPv6 /64). */
    maxConnectionsPerAddress: number;
    maxMessageBytes: number;
    idleTimeoutMs: number;
    keepAliveMs: number;
    initTimeoutMs: number;
  };
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
  }
}

export function parseMasterKeys(value: string): MasterKey[] {
  return value.split(",").map((entry) => {
    const [version, key] = entry.trim().split(":");
    return { version: Number(version), key: Buffer.from(key, "base64") };
  });
}

/** Reads configuration from an environment; throws ConfigError naming every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = schema.safeParse(env);
  const problems: string[] = [];
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      // The value itself is never echoed: PORTCULLIS_MASTER_KEYS and the bootstrap key are secrets.
      problems.push(`${String(issue.path[0])}: ${issue.message}`);
    }
  }
  // Checks across variables run on the raw values too, so that every problem is listed at once.
  const production = env.NODE_ENV === "production";
  const split = (v: string | undefined) => (v ?? "").split(",").map((x) => x.trim()).filter(Boolean);
  const masterKeys = parsed.success && parsed.data.PORTCULLIS_MASTER_KEYS ? parseMasterKeys(parsed.data.PORTCULLIS_MASTER_KEYS) : undefined;
  if (masterKeys && new Set(masterKeys.map((k) => k.version)).size !== masterKeys.length) {
    problems.push("PORTCULLIS_MASTER_KEYS: each version may appear once");
  }
  if (production && !env.PORTCULLIS_MASTER_KEYS) {
    problems.push("PORTCULLIS_MASTER_KEYS: required when NODE_ENV=production");
  }
  if (Boolean(env.TLS_CERT_FILE) !== Boolean(env.TLS_KEY_FILE)) {
    problems.push(`${env.TLS_CERT_FILE ? "TLS_KEY_FILE" : "TLS_CERT_FILE"}: TLS_CERT_FILE and TLS_KEY_FILE go together`);
  }
  if (split(env.PORTCULLIS_TRUSTED_PROXIES).some((p) => !isAddressOrCidr(p))) {
    problems.push("PORTCULLIS_TRUSTED_PROXIES: each entry must be an IP address or CIDR range");
  }
  if (split(env.PORTCULLIS_CORS_ORIGINS).some((o) => !/^https?:\/\/[^/\s]+$/.test(o))) {
    problems.push("PORTCULLIS_CORS_ORIGINS: each origin is scheme://host[:port]");
  }
  if (problems.length > 0 || !parsed.success) throw new ConfigError(problems);
  const e = parsed.data;
  return {
    production,
    port: e.PORT,
    host: e.HOST,
    dataDir: e.PORTCULLIS_DATA_DIR,
    masterKeys,
    bootstrapKey: e.PORTCULLIS_BOOTSTRAP_KEY,
    allowPrivateNetwork: e.PORTCULLIS_ALLOW_PRIVATE_NETWORK,
    tls: e.TLS_CERT_FILE && e.TLS_KEY_FILE ? { certFile: e.TLS_CERT_FILE, keyFile: e.TLS_KEY_FILE } : undefined,
    trustedProxies: e.PORTCULLIS_TRUSTED_PROXIES,
    corsOrigins: e.PORTCULLIS_CORS_ORIGINS,
    auditCheckpointIntervalMs: e.PORTCULLIS_AUDIT_CHECKPOINT_INTERVAL_SECONDS,
    logLevel: e.PORTCULLIS_LOG_LEVEL ?? "info",
    maxBodyBytes: e.PORTCULLIS_MAX_BODY_BYTES,
    maxModelRequestBytes: e.PORTCULLIS_MAX_MODEL_REQUEST_BYTES,
    authFailureLimit: e.PORTCULLIS_AUTH_FAILURE_LIMIT,
    authFailureWindowSeconds: e.PORTCULLIS_AUTH_FAILURE_WINDOW_SECONDS,
    authLockoutSeconds: e.PORTCULLIS_AUTH_LOCKOUT_SECONDS,
    metricsToken: e.PORTCULLIS_METRICS_TOKEN,
    sqliteSynchronous: e.PORTCULLIS_SQLITE_SYNCHRONOUS,
    retentionDays: e.PORTCULLIS_RETENTION_DAYS,
    storeText: e.PORTCULLIS_STORE_TEXT,
    abuse: { addressFailuresPerMinute: e.PORTCULLIS_ADDRESS_FAILURE_LIMIT, principalRequestsPerMinute: e.PORTCULLIS_PRINCIPAL_RATE_LIMIT ?? null },
    websocket: {
      maxSubscriptions: e.PORTCULLIS_WS_MAX_SUBSCRIPTIONS,
      maxConnectionsPerAddress: e.PORTCULLIS_WS_CONNECTIONS_PER_ADDRESS,
      maxMessageBytes: e.PORTCULLIS_WS_MAX_MESSAGE_BYTES,
      idleTimeoutMs: e.PORTCULLIS_WS_IDLE_TIMEOUT_SECONDS,
      keepAliveMs: e.PORTCULLIS_WS_KEEPALIVE_SECONDS,
      initTimeoutMs: e.PORTCULLIS_WS_INIT_TIMEOUT_SECONDS,
    },
  };
}
