import { defineConfig } from "vitest/config";

export default defineConfig({
  oxc: { decorator: { legacy: true } },
  // graphql 16 has no "exports": without this alias Vite loads index.mjs for our files and
  // index.js for dependencies, and schemas cross "realms".
  resolve: { alias: [{ find: /^graphql$/, replacement: "graphql/index.js" }] },
  test: {
    include: ["test/**/*.test.ts"],
    environment: "node",
    setupFiles: ["reflect-metadata"],
    testTimeout: 20_000,
    hookTimeout: 30_000,
  },
});
