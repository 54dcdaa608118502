import { sql, type SQL } from "drizzle-orm";
import type { SQLiteColumn } from "drizzle-orm/sqlite-core";
import { badInput } from "../../errors.js";

const SLUG = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** Longer than any ID or slug: a reference (ID or slug) this long names nothing and is not looked up. */
export const MAX_REFERENCE_LENGTH = 100;

/** The contract's slug rule; made from the name when none is given. */
export function resolveSlug(slug: string | null | undefined, name: string): string {
  if (slug !== null && slug !== undefined) {
    if (!SLUG.test(slug)) throw badInput("slug must match [a-z0-9][a-z0-9-]{0,62}", "slug");
    return slug;
  }
  const made = name
    .normalize("NFKD")
    // Decomposed accents are dropped, so "Ünïcode" becomes "unicode", not "u-ni-code".
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+/, "")
    .slice(0, 63)
    .replace(/-+$/, "");
  if (!SLUG.test(made)) throw badInput("A slug cannot be made from this name; give one", "slug");
  return made;
}

// C0 and C1 controls, zero-width and bidirectional formatting characters: they make a name
// display as something it is not (in a console, a log, an audit export).
const UNSAFE_IN_NAMES = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]/;
// Descriptions may span lines (tab, LF and CR are allowed).
const UNSAFE_IN_TEXT = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]/;

const MAX_NAME_LENGTH = 200;

/** Names are free text, but bounded and printable. */
export function validateName(name: string, field = "name"): string {
  const trimmed = name.trim();
  if (trimmed.length === 0 || trimmed.length > MAX_NAME_LENGTH) throw badInput(`${field} must have 1 to ${MAX_NAME_LENGTH} characters`, field);
  if (UNSAFE_IN_NAMES.test(trimmed)) throw badInput(`${field} must not contain control or formatting characters`, field);
  return trimmed;
}

/** The nameContains filter of a list: case-insensitive, and no longer than a name can be. */
export function nameContains(column: SQLiteColumn, text: string): SQL {
  if (text.length > MAX_NAME_LENGTH) throw badInput(`nameContains must have at most ${MAX_NAME_LENGTH} characters`, "nameContains");
  return sql`instr(lower(${column}), lower(${text})) > 0`;
}

const MAX_MODEL_LENGTH = 200;

/** A provider's model name as a route target names it or a call asks for it: bounded, no control characters. */
export function validateModelName(model: string, field: string): string {
  const trimmed = model.trim();
  if (trimmed.length === 0 || trimmed.length > MAX_MODEL_LENGTH) throw badInput(`${field} must have 1 to ${MAX_MODEL_LENGTH} characters`, field);
  // Bidi overrides and zero-width characters would spoof the name in the audit log and usage rows.
  if (UNSAFE_IN_NAMES.test(trimmed)) throw badInput(`${field} must not contain control or formatting characters`, field);
  return trimmed;
}

/** Optional longer text (descriptions): bounded, line breaks allowed, no control or formatting characters. */
export function validateText(text: string | null | undefined, field: string, max = 1000): string | null {
  if (text === null || text === undefined) return null;
  if (text.length > max) throw badInput(`${field} must have at most ${max} characters`, field);
  if (UNSAFE_IN_TEXT.test(text)) throw badInput(`${field} must not contain control or formatting characters`, field);
  return text;
}

/** A list of IDs given in one argument, bounded so that one request cannot ask for thousands. */
export function boundedIds(ids: readonly string[] | null | undefined, field: string, max = 50): string[] {
  const unique = [...new Set(ids ?? [])];
  if (unique.length > max) throw badInput(`${field} may name at most ${max} objects`, field);
  return unique;
}
