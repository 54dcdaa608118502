// Masks everything that is not one of the contract's codes and rewrites graphql-js messages
// that would echo a submitted value (which could be a secret).
import type { GraphQLFormattedError } from "graphql";
import { ERROR_CODES } from "../errors.js";

const KNOWN = new Set<string>(ERROR_CODES);

/** graphql-js messages that repeat a value, rewritten to say where without saying what. */
export function sanitizeMessage(message: string): string {
  let m = /^Variable "(\$[_A-Za-z][_0-9A-Za-z]*)" got invalid value .*? at "([^"]*)"/s.exec(message);
  if (m) return `Variable "${m[1]}" got an invalid value at "${m[2]}".`;
  m = /^Variable "(\$[_A-Za-z][_0-9A-Za-z]*)" got invalid value/.exec(message);
  if (m) return `Variable "${m[1]}" got an invalid value.`;
  m = /^Variable "(\$[_A-Za-z][_0-9A-Za-z]*)" of (required|non-null) type "([^"]*)" was not provided/.exec(message);
  if (m) return message;
  m = /^Expected value of type "([^"]*)", found /.exec(message);
  if (m) return `Expected value of type "${m[1]}".`;
  // Only graphql-js's and graphql-scalars' own wording is kept: a custom scalar may end its
  // message with the literal it refused and no colon before it.
  m = /^(\w+) cannot represent (?:(?:a |an )?non[- ][\w -]*?value|an invalid [\w-]+)/.exec(message);
  if (m) return `${m[0]}.`;
  m = /^(\w+) cannot represent /.exec(message);
  if (m) return `${m[1]} cannot represent the given value.`;
  // An enum value and the keys of an input object literal sit among values, where a secret
  // could have been pasted unquoted.
  m = /^Value ".*" does not exist in "(\w+)" enum/s.exec(message);
  if (m) return `The value does not exist in "${m[1]}" enum.`;
  m = /^Field ".*" is not defined by type "(\w+)"/s.exec(message);
  if (m) return `A field that is not defined by type "${m[1]}" was given.`;
  // graphql-js words it "more that N tokens".
  m = /^Syntax Error: Document contains more tha[nt] (\d+) tokens/.exec(message);
  if (m) return `Token limit: the document has more than ${m[1]} tokens.`;
  m = /^Syntax Error: /.exec(message);
  if (m) return "Syntax Error: the document cannot be parsed.";
  m = /^Invalid value /.exec(message);
  if (m) return "Invalid value.";
  return message;
}

export function formatError(formatted: GraphQLFormattedError): GraphQLFormattedError {
  const code = String(formatted.extensions?.code ?? "INTERNAL_SERVER_ERROR");
  if (!KNOWN.has(code) || code === "INTERNAL_SERVER_ERROR") {
    return { message: "Internal server error", extensions: { code: "INTERNAL_SERVER_ERROR" } };
  }
  const extensions: Record<string, unknown> = { code };
  for (const key of ["field", "retryAfterSeconds", "httpStatus", "limit"]) if (formatted.extensions?.[key] !== undefined) extensions[key] = formatted.extensions[key];
  return {
    message: sanitizeMessage(formatted.message),
    ...(formatted.locations ? { locations: formatted.locations } : {}),
    ...(formatted.path ? { path: formatted.path } : {}),
    extensions,
  };
}
