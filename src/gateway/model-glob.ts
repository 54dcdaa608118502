// Model glob patterns (gpt-4o*, models/*-pro) matched in time linear in the pattern and the
// name, whatever the pattern: no regular expression, no backtracking. A pattern is a list of
// literal segments split at *; the first is anchored at the start, the last at the end, and
// each one between is found at its leftmost place after the previous one (greedy leftmost is
// exact for *-only globs), with Knuth-Morris-Pratt so that a scan never steps back.

export type ModelMatcher = (name: string) => boolean;

/** Longest proper prefix of `segment[0..i]` that is also its suffix, for each i. */
function failureTable(segment: string): Int32Array {
  const table = new Int32Array(segment.length);
  let k = 0;
  for (let i = 1; i < segment.length; i++) {
    while (k > 0 && segment.charCodeAt(i) !== segment.charCodeAt(k)) k = table[k - 1];
    if (segment.charCodeAt(i) === segment.charCodeAt(k)) k++;
    table[i] = k;
  }
  return table;
}

/** Index of the first occurrence of `segment` in `text[from..to)`, or -1. */
function find(text: string, from: number, to: number, segment: string, table: Int32Array): number {
  let k = 0;
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    while (k > 0 && c !== segment.charCodeAt(k)) k = table[k - 1];
    if (c === segment.charCodeAt(k)) k++;
    if (k === segment.length) return i - segment.length + 1;
  }
  return -1;
}

/**
 * Compiles a pattern. `caseInsensitive` lowercases both sides (the caller lowercases the name
 * once per check with the same toLowerCase), for deny lists: a denied model must not become
 * reachable by writing it in other letters.
 */
export function compileModelGlob(rawPattern: string, caseInsensitive = false): ModelMatcher {
  const pattern = caseInsensitive ? rawPattern.toLowerCase() : rawPattern;
  const parts = pattern.split("*");
  if (parts.length === 1) return (name) => name === pattern;
  const head = parts[0];
  const tail = parts[parts.length - 1];
  const middle = parts.slice(1, -1).filter((s) => s.length > 0);
  const tables = middle.map(failureTable);
  const fixed = head.length + tail.length;
  return (name) => {
    if (name.length < fixed || !name.startsWith(head) || !name.endsWith(tail)) return false;
    let at = head.length;
    const end = name.length - tail.length;
    for (let i = 0; i < middle.length; i++) {
      const found = find(name, at, end, middle[i], tables[i]);
      if (found < 0) return false;
      at = found + middle[i].length;
    }
    return true;
  };
}

/** The allow and deny lists of one policy, compiled once. */
export class ModelRules {
  private readonly allowed: ModelMatcher[] | null;
  private readonly denied: ModelMatcher[];

  constructor(allowedModels: string[] | null, deniedModels: string[]) {
    this.allowed = allowedModels === null ? null : allowedModels.map((p) => compileModelGlob(p));
    this.denied = deniedModels.map((p) => compileModelGlob(p, true));
  }

  /**
   * Allow patterns match exactly (case-sensitive, as model IDs are at most providers); deny
   * patterns match in any letter case. A denial wins over any allowance; an empty allow list
   * allows nothing.
   */
  allows(model: string, lowered = model.toLowerCase()): boolean {
    for (const deny of this.denied) if (deny(lowered)) return false;
    if (this.allowed === null) return true;
    for (const allow of this.allowed) if (allow(model)) return true;
    return false;
  }
}
