import type { Db } from "./client.js";

/** A drizzle transaction on our database. */
export type Tx = Parameters<Parameters<Db["transaction"]>[0]>[0];
/** Anything that runs queries: the database or a transaction on it. */
export type Queryable = Db | Tx;
