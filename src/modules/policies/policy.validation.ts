// What a policy may hold. Every refusal names the field and the rule, never the value: a
// pasted list could hold anything.
import ipaddr from "ipaddr.js";
import { badInput } from "../../errors.js";
import { validateText } from "../common/slug.js";
import type { BudgetPeriod } from "./policy.type.js";

export const MAX_DESCRIPTION = 1000;
export const MAX_MODEL_PATTERNS = 100;
export const MAX_MODEL_PATTERN_LENGTH = 128;
/** Few wildcards keep any later matcher cheap, even a naive one. */
export const MAX_WILDCARDS = 8;
export const MAX_IP_RANGES = 100;
export const MAX_REQUESTS_PER_MINUTE = 1_000_000;
export const MAX_TOKENS_PER_MINUTE = 1_000_000_000;
export const MAX_BUDGET_USD = 1_000_000_000;

const MODEL_PATTERN = /^[A-Za-z0-9._\-:/*]+$/;

/** Free text, bounded; an empty description clears it. Line breaks and tabs are fine, other control characters are not. */
export function validateDescription(description: string): string | null {
  const trimmed = (validateText(description, "description", MAX_DESCRIPTION) ?? "").trim();
  return trimmed.length === 0 ? null : trimmed;
}

/** Glob patterns such as gpt-4o*: letters, digits, . - _ : / and the * wildcard; runs of * become one; duplicates go. */
export function validateModelPatterns(patterns: string[], field: "allowedModels" | "deniedModels"): string[] {
  if (patterns.length > MAX_MODEL_PATTERNS) throw badInput(`${field} may hold at most ${MAX_MODEL_PATTERNS} patterns`, field);
  const out: string[] = [];
  for (const raw of patterns) {
    if (raw.length === 0 || raw.length > MAX_MODEL_PATTERN_LENGTH) throw badInput(`Each pattern in ${field} must have 1 to ${MAX_MODEL_PATTERN_LENGTH} characters`, field);
    if (!MODEL_PATTERN.test(raw)) throw badInput(`Patterns in ${field} may contain only letters, digits, . - _ : / and *`, field);
    const pattern = raw.replace(/\*{2,}/g, "*");
    if ((pattern.match(/\*/g)?.length ?? 0) > MAX_WILDCARDS) throw badInput(`Patterns in ${field} may contain at most ${MAX_WILDCARDS} wildcards`, field);
    if (!out.includes(pattern)) out.push(pattern);
  }
  return out;
}

export interface RateLimitValue {
  requestsPerMinute: number | null;
  tokensPerMinute: number | null;
}

function perMinute(value: number | null | undefined, field: string, max: number): number | null {
  if (value === null || value === undefined) return null;
  if (!Number.isInteger(value) || value < 1 || value > max) throw badInput(`${field} must be a whole number from 1 to ${max}`, `rateLimit.${field}`);
  return value;
}

/**
 * A rate limit given in an input, laid over the current one: a null or omitted half keeps its
 * current value (none at creation). At least one half must end up set.
 */
export function validateRateLimit(input: { requestsPerMinute?: number | null; tokensPerMinute?: number | null }, current: RateLimitValue | null): RateLimitValue {
  const requestsPerMinute = perMinute(input.requestsPerMinute, "requestsPerMinute", MAX_REQUESTS_PER_MINUTE) ?? current?.requestsPerMinute ?? null;
  const tokensPerMinute = perMinute(input.tokensPerMinute, "tokensPerMinute", MAX_TOKENS_PER_MINUTE) ?? current?.tokensPerMinute ?? null;
  if (requestsPerMinute === null && tokensPerMinute === null) throw badInput("rateLimit needs requestsPerMinute or tokensPerMinute", "rateLimit");
  return { requestsPerMinute, tokensPerMinute };
}

export function validateBudget(input: { limitUsd: number; period: BudgetPeriod }): { limitUsd: number; period: BudgetPeriod } {
  if (!Number.isFinite(input.limitUsd) || input.limitUsd <= 0 || input.limitUsd > MAX_BUDGET_USD) {
    throw badInput(`budget.limitUsd must be greater than 0 and at most ${MAX_BUDGET_USD}`, "budget.limitUsd");
  }
  return { limitUsd: input.limitUsd, period: input.period };
}

/**
 * One address or CIDR range in canonical form: always with a prefix, host bits cleared,
 * IPv6 compressed (RFC 5952), IPv4-mapped IPv6 as IPv4 (the form the caller's address takes).
 * Only four-part decimal IPv4 is accepted: 10.1 or 0x0a.0.0.1 would mean something surprising.
 */
function normalizeRange(raw: string): string | undefined {
  if (raw.length > 64 || raw.includes("%")) return undefined;
  const [address, prefixText, ...rest] = raw.split("/");
  if (rest.length > 0) return undefined;
  let ip: ipaddr.IPv4 | ipaddr.IPv6;
  if (ipaddr.IPv4.isValidFourPartDecimal(address)) ip = ipaddr.IPv4.parse(address);
  else if (address.includes(":") && ipaddr.IPv6.isValid(address)) ip = ipaddr.IPv6.parse(address);
  else return undefined;
  const bits = ip.kind() === "ipv4" ? 32 : 128;
  let prefix = bits;
  if (prefixText !== undefined) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(prefixText)) return undefined;
    prefix = Number(prefixText);
    if (prefix > bits) return undefined;
  }
  if (ip instanceof ipaddr.IPv6 && ip.isIPv4MappedAddress() && prefix >= 96) {
    ip = ip.toIPv4Address();
    prefix -= 96;
  }
  const network = ip instanceof ipaddr.IPv4 ? ipaddr.IPv4.networkAddressFromCIDR(`${ip.toString()}/${prefix}`) : ipaddr.IPv6.networkAddressFromCIDR(`${ip.toString()}/${prefix}`);
  return `${network.toString()}/${prefix}`;
}

export function validateIpRanges(ranges: string[]): string[] {
  if (ranges.length > MAX_IP_RANGES) throw badInput(`allowedIpRanges may hold at most ${MAX_IP_RANGES} ranges`, "allowedIpRanges");
  const out: string[] = [];
  for (const raw of ranges) {
    const range = normalizeRange(raw.trim());
    if (!range) throw badInput("Each entry of allowedIpRanges must be an IPv4 or IPv6 address or CIDR range, such as 203.0.113.0/24 or 2001:db8::/32", "allowedIpRanges");
    if (!out.includes(range)) out.push(range);
  }
  return out;
}
