// Text from outside (a command-line argument, a request path, a stored name) written to a log,
// a terminal or an export cannot start a line of its own or drive the terminal: line breaks,
// escape sequences and every other control character, C1 controls and the Unicode line and
// paragraph separators included, are written as \uXXXX.
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

const escape = (c: string) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;

export function printable(text: string): string {
  return text.replace(CONTROL, escape);
}

/** One JSON line that stays one line in any viewer: JSON.stringify leaves C1 controls and U+2028/9 as they are. */
export function jsonLine(value: unknown): string {
  return JSON.stringify(value).replace(CONTROL, escape);
}
