// What the OpenAI wire format accepts, as applications and the official SDKs send it. Every
// refusal names the field and never repeats the value submitted (it could be a secret).
import { z } from "zod";

const MAX_MESSAGES = 1000;
const MAX_TOOLS = 128;
const MAX_STOP = 16;
const MAX_TEXT = 4 * 1024 * 1024;

const text = z.string().max(MAX_TEXT);
const textPart = z.object({ type: z.literal("text"), text }).strict();
const imagePart = z
  .object({
    type: z.literal("image_url"),
    image_url: z.object({ url: z.string().max(MAX_TEXT).regex(/^(https:\/\/|data:image\/[a-z0-9.+-]+;base64,)/i), detail: z.enum(["auto", "low", "high"]).optional() }).strict(),
  })
  .strict();
const textContent = z.union([text, z.array(textPart).max(256)]);
const toolCall = z
  .object({
    id: z.string().min(1).max(256),
    type: z.literal("function"),
    function: z.object({ name: z.string().min(1).max(256), arguments: z.string().max(MAX_TEXT) }).strict(),
  })
  .strict();
const name = z.string().min(1).max(256).optional();

const message = z.discriminatedUnion("role", [
  z.object({ role: z.enum(["system", "developer"]), content: textContent, name }).strict(),
  z.object({ role: z.literal("user"), content: z.union([text, z.array(z.union([textPart, imagePart])).max(256)]), name }).strict(),
  z
    .object({
      role: z.literal("assistant"),
      content: textContent.nullable().optional(),
      tool_calls: z.array(toolCall).max(MAX_TOOLS).optional(),
      name,
      refusal: z.string().max(MAX_TEXT).nullable().optional(),
    })
    .strict(),
  z.object({ role: z.literal("tool"), content: textContent, tool_call_id: z.string().min(1).max(256) }).strict(),
]);

const jsonObject = z.record(z.string(), z.unknown());
const functionName = z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/);
const tool = z
  .object({
    type: z.literal("function"),
    function: z.object({ name: functionName, description: z.string().max(4096).optional(), parameters: jsonObject.optional(), strict: z.boolean().nullable().optional() }).strict(),
  })
  .strict();
const toolChoice = z.union([z.enum(["none", "auto", "required"]), z.object({ type: z.literal("function"), function: z.object({ name: functionName }).strict() }).strict()]);
const responseFormat = z.discriminatedUnion("type", [
  z.object({ type: z.literal("text") }).strict(),
  z.object({ type: z.literal("json_object") }).strict(),
  z
    .object({
      type: z.literal("json_schema"),
      json_schema: z.object({ name: functionName, description: z.string().max(4096).optional(), schema: jsonObject.optional(), strict: z.boolean().nullable().optional() }).strict(),
    })
    .strict(),
]);

/** OpenAI parameters that reach OpenAI-family providers as sent and that translating adapters leave out. */
const passThrough = {
  frequency_penalty: z.number().min(-2).max(2).optional(),
  presence_penalty: z.number().min(-2).max(2).optional(),
  logit_bias: z.record(z.string(), z.number().min(-100).max(100)).optional(),
  logprobs: z.boolean().optional(),
  top_logprobs: z.number().int().min(0).max(20).optional(),
  reasoning_effort: z.enum(["minimal", "low", "medium", "high"]).optional(),
  verbosity: z.enum(["low", "medium", "high"]).optional(),
  service_tier: z.string().max(64).optional(),
  metadata: z.record(z.string(), z.string().max(512)).optional(),
  store: z.boolean().optional(),
  prediction: jsonObject.optional(),
  modalities: z.array(z.string().max(32)).max(8).optional(),
};
export const PASS_THROUGH_FIELDS = Object.keys(passThrough);

export const chatCompletionBody = z
  .object({
    model: z.string().min(1).max(512),
    messages: z.array(message).min(1).max(MAX_MESSAGES),
    tools: z.array(tool).max(MAX_TOOLS).optional(),
    tool_choice: toolChoice.optional(),
    parallel_tool_calls: z.boolean().optional(),
    response_format: responseFormat.optional(),
    temperature: z.number().min(0).max(2).nullable().optional(),
    top_p: z.number().min(0).max(1).nullable().optional(),
    max_tokens: z.number().int().min(1).max(10_000_000).nullable().optional(),
    max_completion_tokens: z.number().int().min(1).max(10_000_000).nullable().optional(),
    stop: z.union([z.string().max(1024), z.array(z.string().max(1024)).max(MAX_STOP)]).nullable().optional(),
    seed: z.number().int().nullable().optional(),
    user: z.string().max(256).optional(),
    n: z.number().int().min(1).max(16).nullable().optional(),
    stream: z.boolean().nullable().optional(),
    stream_options: z.object({ include_usage: z.boolean().optional() }).strict().nullable().optional(),
    ...passThrough,
  })
  .strict();

export type ChatCompletionBody = z.infer<typeof chatCompletionBody>;

export const embeddingsBody = z
  .object({
    model: z.string().min(1).max(512),
    input: z.union([z.string().min(1).max(MAX_TEXT), z.array(z.string().min(1).max(MAX_TEXT)).min(1).max(2048)]),
    dimensions: z.number().int().min(1).max(65_536).optional(),
    encoding_format: z.enum(["float", "base64"]).optional(),
    user: z.string().max(256).optional(),
  })
  .strict();

export type EmbeddingsBody = z.infer<typeof embeddingsBody>;

const FREE_FORM_MAPS = new Set(["metadata", "logit_bias", "parameters", "schema", "prediction"]);

/** The first problem of a refused body, as "field: what is wrong", built from the path and the kind of problem only. */
export function describeIssue(error: z.ZodError): { field: string; message: string } {
  const issue = error.issues[0];
  // The keys inside a free-form map are the caller's data: the path stops at the map.
  const path: PropertyKey[] = [];
  for (const segment of issue.path) {
    path.push(segment);
    if (typeof segment === "string" && FREE_FORM_MAPS.has(segment)) break;
  }
  const field = path.map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join("") || "body";
  const what = (() => {
    switch (issue.code) {
      case "unrecognized_keys":
        // A field name is shown only when it looks like one: nothing else the caller sent is repeated.
        return /^[a-z0-9_]{1,64}$/i.test(issue.keys[0]) ? `has an unknown field "${issue.keys[0]}"` : "has an unknown field";
      case "invalid_type":
        // zod reports no input by default (so none can leak); its own message says whether one was there.
        return issue.message.endsWith("received undefined") ? "is required" : `must be ${issue.expected}`;
      case "too_small":
        return issue.origin === "array" ? `must hold at least ${issue.minimum} entries` : issue.origin === "string" ? `must have at least ${issue.minimum} characters` : `must be at least ${issue.minimum}`;
      case "too_big":
        return issue.origin === "array" ? `may hold at most ${issue.maximum} entries` : issue.origin === "string" ? `may have at most ${issue.maximum} characters` : `must be at most ${issue.maximum}`;
      case "invalid_value":
        return `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}`;
      case "invalid_union": {
        const options = (issue as { options?: unknown[] }).options;
        return options ? `must be one of ${options.map((v) => JSON.stringify(v)).join(", ")}` : "does not match any accepted form";
      }
      case "invalid_format":
        return "is not in an accepted form";
      default:
        return "is invalid";
    }
  })();
  return { field, message: `${field} ${what}` };
}
