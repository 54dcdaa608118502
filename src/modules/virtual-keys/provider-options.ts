// Provider-specific settings of a virtual key, validated per provider. Options that pick the
// host a secret is sent to are part of the key's endpoint and sealed with its secret.
import { z } from "zod";
import { badInput } from "../../errors.js";
import { Provider } from "./virtual-key.type.js";

export type ProviderOptions = Record<string, string>;

// Host-picking values become part of a host name: letters, digits and hyphens only, so that
// nothing can smuggle a dot, a slash or an @ into the URL built from them.
const hostLabel = z.string().regex(/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?$/);
// One path segment: "." and ".." would climb the URL path on the provider's host.
const pathSegment = z
  .string()
  .regex(/^[A-Za-z0-9._-]{1,128}$/)
  .refine((v) => v !== "." && v !== "..");
const headerToken = z.string().regex(/^[A-Za-z0-9_-]{1,128}$/);

const SCHEMAS: Record<Provider, z.ZodObject> = {
  [Provider.OPENAI]: z.strictObject({ organization: headerToken.optional(), project: headerToken.optional() }),
  [Provider.ANTHROPIC]: z.strictObject({}),
  [Provider.AZURE_OPENAI]: z.strictObject({
    resourceName: hostLabel,
    deploymentId: pathSegment,
    apiVersion: z.string().regex(/^\d{4}-\d{2}-\d{2}(?:-preview)?$/),
  }),
  [Provider.GOOGLE]: z.strictObject({}),
  [Provider.OPENAI_COMPATIBLE]: z.strictObject({}),
};

/** The options that choose the host: sealed into the secret's additional data. */
const HOST_PICKING: Record<Provider, readonly string[]> = {
  [Provider.OPENAI]: [],
  [Provider.ANTHROPIC]: [],
  [Provider.AZURE_OPENAI]: ["resourceName"],
  [Provider.GOOGLE]: [],
  [Provider.OPENAI_COMPATIBLE]: [],
};

/**
 * Validates providerOptions for a provider; null when there are none. Messages name the
 * options the provider accepts, never a submitted key or value.
 */
export function parseProviderOptions(provider: Provider, raw: unknown): ProviderOptions | null {
  const schema = SCHEMAS[provider];
  const known = Object.keys(schema.shape);
  const input = raw === null || raw === undefined ? {} : raw;
  if (typeof input !== "object" || Array.isArray(input)) throw badInput("providerOptions must be a JSON object", "providerOptions");
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    if (issue.code === "unrecognized_keys") {
      throw badInput(
        known.length === 0 ? `providerOptions: ${provider} takes no options` : `providerOptions: ${provider} accepts only ${known.join(", ")}`,
        "providerOptions",
      );
    }
    const option = String(issue.path[0]);
    throw badInput(`providerOptions.${option} is missing or invalid for ${provider}`, "providerOptions");
  }
  const options = Object.fromEntries(Object.entries(parsed.data).filter(([, v]) => v !== undefined)) as ProviderOptions;
  return Object.keys(options).length > 0 ? options : null;
}

export function hostPickingOptions(provider: Provider, options: ProviderOptions | null): ProviderOptions | null {
  const picked = Object.fromEntries(HOST_PICKING[provider].filter((k) => options?.[k] !== undefined).map((k) => [k, options![k]]));
  return Object.keys(picked).length > 0 ? picked : null;
}
