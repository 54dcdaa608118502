// Validation rules that bound what one document may ask for: depth, aliases, directives and
// cost. (Token count is bounded by the parser's maxTokens option, the number of errors reported
// by validation's maxErrors.) Each refusal names its limit in its message and in
// extensions.limit, so that a client can tell which one it hit.
import {
  BREAK,
  GraphQLError,
  isInterfaceType,
  isObjectType,
  Kind,
  type ASTVisitor,
  type FieldNode,
  type FragmentDefinitionNode,
  type SelectionSetNode,
  type ValidationContext,
  type ValidationRule,
  visit,
} from "graphql";

export interface QueryLimits {
  maxDepth: number;
  maxAliases: number;
  maxDirectives: number;
  maxCost: number;
  maxTokens: number;
  /** Validation stops after this many errors: a document made of mistakes costs no more than a few. */
  maxErrors: number;
}

export const DEFAULT_LIMITS: QueryLimits = { maxDepth: 10, maxAliases: 15, maxDirectives: 20, maxCost: 5000, maxTokens: 2000, maxErrors: 5 };

function limitError(limit: "depth" | "aliases" | "directives" | "cost", message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { limit } });
}

/**
 * A paginated field costs its page size times what each item asks for: the literal first,
 * the maximum (100) for a variable, the default (20) when omitted.
 */
function listMultiplier(field: FieldNode, paginated: ReadonlySet<string>): number {
  const first = field.arguments?.find((a) => a.name.value === "first");
  if (first?.value.kind === Kind.INT) return Math.max(1, Number(first.value.value));
  if (first) return 100;
  return paginated.has(field.name.value) ? 20 : 1;
}

function walk(
  set: SelectionSetNode,
  paginated: ReadonlySet<string>,
  fragments: Record<string, FragmentDefinitionNode>,
  depth: number,
  seen: Set<string>,
  acc: { maxDepth: number; aliases: number },
): number {
  let cost = 0;
  for (const sel of set.selections) {
    if (sel.kind === Kind.FIELD) {
      if (sel.alias) acc.aliases++;
      if (sel.name.value.startsWith("__")) continue;
      acc.maxDepth = Math.max(acc.maxDepth, depth + 1);
      const inner = sel.selectionSet ? walk(sel.selectionSet, paginated, fragments, depth + 1, seen, acc) : 0;
      cost += 1 + listMultiplier(sel, paginated) * inner;
    } else if (sel.kind === Kind.INLINE_FRAGMENT) {
      // A fragment is a level of nesting too: otherwise `... on T { ... on T { ... } }` nests without bound.
      acc.maxDepth = Math.max(acc.maxDepth, depth + 1);
      cost += walk(sel.selectionSet, paginated, fragments, depth + 1, seen, acc);
    } else {
      const name = sel.name.value;
      const fragment = fragments[name];
      // A fragment cycle is reported by graphql-js's own rule; do not loop on it here.
      if (!fragment || seen.has(name)) continue;
      seen.add(name);
      acc.maxDepth = Math.max(acc.maxDepth, depth + 1);
      cost += walk(fragment.selectionSet, paginated, fragments, depth + 1, seen, acc);
      seen.delete(name);
    }
  }
  return cost;
}

export function queryLimitsRule(limits: QueryLimits): ValidationRule {
  let paginated: Set<string> | undefined;
  return (context: ValidationContext): ASTVisitor => ({
    Document(doc) {
      // Counted before anything else is validated: hundreds of unknown directives are one error, not hundreds.
      let directives = 0;
      visit(doc, {
        Directive() {
          directives++;
        },
      });
      if (directives > limits.maxDirectives) {
        context.reportError(limitError("directives", `Directive limit: the document uses ${directives} directives; at most ${limits.maxDirectives} are allowed`));
        return BREAK;
      }
      paginated ??= paginatedFieldNames(context);
      const fragments: Record<string, FragmentDefinitionNode> = {};
      for (const def of doc.definitions) if (def.kind === Kind.FRAGMENT_DEFINITION) fragments[def.name.value] = def;
      for (const def of doc.definitions) {
        if (def.kind !== Kind.OPERATION_DEFINITION) continue;
        const acc = { maxDepth: 0, aliases: 0 };
        const cost = walk(def.selectionSet, paginated, fragments, 0, new Set(), acc);
        if (acc.maxDepth > limits.maxDepth) context.reportError(limitError("depth", `Depth limit: the query is nested ${acc.maxDepth} levels deep (fragments count as levels); at most ${limits.maxDepth} are allowed`));
        if (acc.aliases > limits.maxAliases) context.reportError(limitError("aliases", `Alias limit: the query uses ${acc.aliases} aliases; at most ${limits.maxAliases} are allowed`));
        if (cost > limits.maxCost) context.reportError(limitError("cost", `Cost limit: the query costs ${cost}; at most ${limits.maxCost} is allowed`));
      }
      return undefined;
    },
  });
}

/** Names of fields that take a first argument anywhere in the schema. */
function paginatedFieldNames(context: ValidationContext): Set<string> {
  const names = new Set<string>();
  for (const type of Object.values(context.getSchema().getTypeMap())) {
    if (!isObjectType(type) && !isInterfaceType(type)) continue;
    for (const field of Object.values(type.getFields())) {
      if (field.args.some((a) => a.name === "first")) names.add(field.name);
    }
  }
  return names;
}
