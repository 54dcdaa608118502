// Redacts prompt and completion text before it is stored (PORTCULLIS_STORE_TEXT): key-like
// strings, email addresses, payment card numbers and phone numbers become a marker naming what
// was there. Every quantifier is bounded, so that a hostile 20 MB prompt costs linear time.
// Keys go first: they may hold digit runs that would otherwise be taken for a card or a phone.

export const REDACTED = {
  key: "[redacted key]",
  email: "[redacted email]",
  card: "[redacted card]",
  phone: "[redacted phone]",
} as const;

const KNOWN_KEYS: RegExp[] = [
  // Portcullis API keys (pcl_<keyId>_<secret><checksum>), also mistyped ones.
  /\bpcl_[0-9A-Za-z_]{16,128}/g,
  // OpenAI and Anthropic (sk-..., sk-proj-..., sk-ant-...), and OpenAI-compatible providers that copy them.
  /\bsk-[0-9A-Za-z_-]{16,256}/g,
  // Google API keys.
  /\bAIza[0-9A-Za-z_-]{35}\b/g,
  // AWS access key IDs (long-term and temporary).
  /\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[0-9A-Z]{16}\b/g,
  // JSON Web Tokens: a base64url header that starts with {" and two more parts.
  /\beyJ[0-9A-Za-z_-]{8,4096}\.[0-9A-Za-z_-]{8,8192}\.[0-9A-Za-z_-]{0,1024}/g,
];

/** The credential after "Bearer", whatever it looks like; the word itself is kept. */
const BEARER = /\b(Bearer\s{1,8})[0-9A-Za-z._~+/=-]{8,4096}/gi;

// A run of token characters long enough to be a secret; high entropy tells it from prose.
const TOKEN_RUN = /[0-9A-Za-z_+/-]{32,4096}={0,2}/g;
const MIN_TOKEN_ENTROPY_BITS = 3.5;

const EMAIL = /[0-9A-Za-z._%+-]{1,64}@[0-9A-Za-z-]{1,63}(?:\.[0-9A-Za-z-]{1,63}){0,8}\.[A-Za-z]{2,24}\b/g;

// 13 to 19 digits, optionally grouped by single spaces or dashes; kept unless the Luhn check passes.
const CARD_CANDIDATE = /(?<![0-9])[0-9](?:[ -]?[0-9]){12,18}(?![0-9])/g;

// International: +, a country code and groups of digits (one may be in parentheses), 8 to 15 digits in all.
const INTERNATIONAL_PHONE = /(?<![0-9A-Za-z+])\+[0-9]{1,3}(?:[ .-]?(?:\([0-9]{1,4}\)|[0-9]{1,4})){2,6}(?![0-9])/g;

const PHONES: RegExp[] = [
  // North American: (555) 123-4567, 555-123-4567, 555.123.4567, 555 123 4567.
  /(?<![0-9.,-]|[0-9] )(?:\([0-9]{3}\) ?|[0-9]{3}[ .-])[0-9]{3}[ .-][0-9]{4}(?![0-9]|[ .,-][0-9])/g,
  // National with a trunk prefix: 020 7946 0958, 030-1234-5678.
  /(?<![0-9.,-]|[0-9] )0[1-9][0-9]{1,3}[ -][0-9]{3,4}[ -][0-9]{3,4}(?![0-9]|[ .,-][0-9])/g,
];

function shannonBits(s: string): number {
  const counts = new Map<string, number>();
  for (const c of s) counts.set(c, (counts.get(c) ?? 0) + 1);
  let bits = 0;
  for (const n of counts.values()) {
    const p = n / s.length;
    bits -= p * Math.log2(p);
  }
  return bits;
}

function looksLikeSecret(run: string): boolean {
  // Prose, paths and identifiers made of words have no digits mixed with letters, or repeat themselves.
  return /[0-9]/.test(run) && /[A-Za-z]/.test(run) && shannonBits(run) >= MIN_TOKEN_ENTROPY_BITS;
}

export function luhnValid(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

function redactCard(candidate: string): string {
  const digits = candidate.replace(/[ -]/g, "");
  // All one digit (0000 0000 0000 0000) passes Luhn but is a placeholder, not a card.
  return luhnValid(digits) && !/^(.)\1*$/.test(digits) ? REDACTED.card : candidate;
}

/** The text with every email, phone number, card number and key-like string replaced by a marker. */
export function redactText(text: string): string {
  let out = text;
  for (const pattern of KNOWN_KEYS) out = out.replace(pattern, REDACTED.key);
  out = out.replace(BEARER, (_m, word: string) => word + REDACTED.key);
  out = out.replace(TOKEN_RUN, (run) => (looksLikeSecret(run) ? REDACTED.key : run));
  out = out.replace(EMAIL, REDACTED.email);
  out = out.replace(CARD_CANDIDATE, redactCard);
  out = out.replace(INTERNATIONAL_PHONE, (m) => {
    const digits = m.replace(/[^0-9]/g, "").length;
    return digits >= 8 && digits <= 15 ? REDACTED.phone : m;
  });
  for (const pattern of PHONES) out = out.replace(pattern, REDACTED.phone);
  return out;
}
