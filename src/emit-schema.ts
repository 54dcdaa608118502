// Writes schema.graphql from the code. Runs without decorator metadata, so a decorator that
// lacks an explicit type fails here first.
import "reflect-metadata";
import { join } from "node:path";
import { buildBareSchema } from "./graphql/schema.js";
import { packageRoot } from "./package-root.js";

const target = join(packageRoot, "schema.graphql");
buildBareSchema(target);
console.log(`wrote ${target}`);
