import { badInput } from "../../errors.js";

const SLUG = /^[a-z0-9][a-z0-9-]{0,62}$/;

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

/** Names are free text, but bounded and printable. */
export function validateName(name: string, field = "name"): string {
  const trimmed = name.trim();
  if (trimmed.length === 0 || trimmed.length > 200) throw badInput(`${field} must have 1 to 200 characters`, field);
  if (/[\u0000-\u001f\u007f]/.test(trimmed)) throw badInput(`${field} must not contain control characters`, field);
  return trimmed;
}
