// Validation rules that bound what one document may ask for: depth, aliases and cost.
// (Token count is bounded by the parser's maxTokens option.)
import {
  GraphQLError,
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

/** A list field costs its page size (first, default 20) times what each item asks for. */
function listMultiplier(field: FieldNode): number {
  const first = field.arguments?.find((a) => a.name.value === "first");
  if (first?.value.kind === Kind.INT) return Math.max(1, Number(first.value.value));
  return /s$|Connection$/.test(field.name.value) && field.selectionSet ? 20 : 1;
}

function walk(
  set: SelectionSetNode,
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
      const inner = sel.selectionSet ? walk(sel.selectionSet, fragments, depth + 1, seen, acc) : 0;
      cost += 1 + listMultiplier(sel) * inner;
    } else if (sel.kind === Kind.INLINE_FRAGMENT) {
      cost += walk(sel.selectionSet, fragments, depth, seen, acc);
    } else {
      const name = sel.name.value;
      const fragment = fragments[name];
      // A fragment cycle is reported by graphql-js's own rule; do not loop on it here.
      if (!fragment || seen.has(name)) continue;
      seen.add(name);
      cost += walk(fragment.selectionSet, fragments, depth, seen, acc);
      seen.delete(name);
    }
  }
  return cost;
}

export function queryLimitsRule(limits: QueryLimits): ValidationRule {
  return (context: ValidationContext): ASTVisitor => ({
    Document(doc) {
      const fragments: Record<string, FragmentDefinitionNode> = {};
      for (const def of doc.definitions) if (def.kind === Kind.FRAGMENT_DEFINITION) fragments[def.name.value] = def;
      for (const def of doc.definitions) {
        if (def.kind !== Kind.OPERATION_DEFINITION) continue;
        const acc = { maxDepth: 0, aliases: 0 };
        const cost = walk(def.selectionSet, fragments, 0, new Set(), acc);
        if (acc.maxDepth > limits.maxDepth) context.reportError(new GraphQLError(`The query is nested ${acc.maxDepth} levels deep; at most ${limits.maxDepth} are allowed`));
        if (acc.aliases > limits.maxAliases) context.reportError(new GraphQLError(`The query uses ${acc.aliases} aliases; at most ${limits.maxAliases} are allowed`));
        if (cost > limits.maxCost) context.reportError(new GraphQLError(`The query costs ${cost}; at most ${limits.maxCost} is allowed`));
      }
    },
  });
}
