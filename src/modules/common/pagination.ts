// Cursor pagination, newest first: the cursor is an opaque encoding of (createdAt, id).
import { and, count, desc, eq, lt, or, type SQL } from "drizzle-orm";
import type { SQLiteColumn, SQLiteTable } from "drizzle-orm/sqlite-core";
import type { Queryable } from "../../db/types.js";
import { badInput } from "../../errors.js";

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

export interface PageArgs {
  first?: number | null;
  after?: string | null;
}

export function pageSize(first: number | null | undefined): number {
  if (first === null || first === undefined) return DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(first) || first < 1 || first > MAX_PAGE_SIZE) {
    throw badInput(`first must be between 1 and ${MAX_PAGE_SIZE}`, "first");
  }
  return first;
}

export function encodeCursor(parts: (string | number)[]): string {
  return Buffer.from(JSON.stringify(parts), "utf8").toString("base64url");
}

export function decodeCursor(cursor: string, arity: number): (string | number)[] {
  try {
    if (cursor.length > 256) throw new Error();
    const parts: unknown = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
    if (Array.isArray(parts) && parts.length === arity && parts.every((p) => typeof p === "string" || typeof p === "number")) {
      return parts;
    }
  } catch {
    // fall through
  }
  throw badInput("after is not a valid cursor", "after");
}

/** The sequence a cursor over a log in sequence order names (auditEvents, auditCheckpoints). */
export function decodeSequenceCursor(cursor: string): number {
  const [sequence] = decodeCursor(cursor, 1);
  if (!Number.isSafeInteger(sequence)) throw badInput("after is not a valid cursor", "after");
  return sequence as number;
}

/** The WHERE part and ORDER BY for a newest-first page keyed on (createdAt, id). */
export function newestFirst(createdAt: SQLiteColumn, id: SQLiteColumn, after: string | null | undefined): { where?: SQL; orderBy: SQL[] } {
  const orderBy = [desc(createdAt), desc(id)];
  if (!after) return { orderBy };
  const [t, key] = decodeCursor(after, 2);
  if (typeof t !== "number" || typeof key !== "string") throw badInput("after is not a valid cursor", "after");
  return { where: or(lt(createdAt, new Date(t)), and(eq(createdAt, new Date(t)), lt(id, key))), orderBy };
}

/** Given rows fetched with limit size + 1, the page and its info. */
export function toPage<T extends { id: string; createdAt: Date }>(rows: T[], size: number) {
  const nodes = rows.slice(0, size);
  const last = nodes.at(-1);
  return {
    nodes,
    pageInfo: { hasNextPage: rows.length > size, endCursor: last ? encodeCursor([last.createdAt.getTime(), last.id]) : null },
  };
}

/**
 * One newest-first page of a table's rows matching `where`, with the total count: the list
 * query every connection field runs.
 */
export function pageOf<T extends SQLiteTable & { createdAt: SQLiteColumn; id: SQLiteColumn }>(
  db: Queryable,
  table: T,
  where: SQL | undefined,
  args: PageArgs,
): { nodes: T["$inferSelect"][]; pageInfo: { hasNextPage: boolean; endCursor: string | null }; totalCount: number } {
  const size = pageSize(args.first);
  const page = newestFirst(table.createdAt, table.id, args.after);
  const rows = db
    .select()
    .from(table as SQLiteTable)
    .where(and(where, page.where))
    .orderBy(...page.orderBy)
    .limit(size + 1)
    .all() as T["$inferSelect"][];
  const totalCount = db.select({ n: count() }).from(table as SQLiteTable).where(where).get()!.n;
  const { nodes, pageInfo } = toPage(rows as (T["$inferSelect"] & { id: string; createdAt: Date })[], size);
  return { nodes, pageInfo, totalCount };
}
