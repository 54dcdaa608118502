// Validation rules that bound what one document may ask for: depth, aliases and cost.
// (Token count is bounded by the parser's maxTokens option.)
import {
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
} from "graphql";

export interface QueryLimits {
  maxDepth: number;
  maxAliases: number;
  maxCost: number;
  maxTokens: number;
}

export const DEFAULT_LIMITS: QueryLimits = { maxDepth: 10, maxAliases: 15, maxCost: 5000, maxTokens: 2000 };

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
      cost += walk(sel.selectionSet, paginated, fragments, depth, seen, acc);
    } else {
      const name = sel.name.value;
      const fragment = fragments[name];
      // A fragment cycle is reported by graphql-js's own rule; do not loop on it here.
      if (!fragment || seen.has(name)) continue;
      seen.add(name);
      cost += walk(fragment.selectionSet, paginated, fragments, depth, seen, acc);
      seen.delete(name);
    }
  }
  return cost;
}

export function queryLimitsRule(limits: QueryLimits): ValidationRule {
  let paginated: Set<string> | undefined;
  return (context: ValidationContext): ASTVisitor => ({
    Document(doc) {
      paginated ??= paginatedFieldNames(context);
      const fragments: Record<string, FragmentDefinitionNode> = {};
      for (const def of doc.definitions) if (def.kind === Kind.FRAGMENT_DEFINITION) fragments[def.name.value] = def;
      for (const def of doc.definitions) {
        if (def.kind !== Kind.OPERATION_DEFINITION) continue;
        const acc = { maxDepth: 0, aliases: 0 };
        const cost = walk(def.selectionSet, paginated, fragments, 0, new Set(), acc);
        if (acc.maxDepth > limits.maxDepth) context.reportError(new GraphQLError(`The query is nested ${acc.maxDepth} levels deep; at most ${limits.maxDepth} are allowed`));
        if (acc.aliases > limits.maxAliases) context.reportError(new GraphQLError(`The query uses ${acc.aliases} aliases; at most ${limits.maxAliases} are allowed`));
        if (cost > limits.maxCost) context.reportError(new GraphQLError(`The query costs ${cost}; at most ${limits.maxCost} is allowed`));
      }
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
