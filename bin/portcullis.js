#!/usr/bin/env node
// The compiled CLI; `npm ci` builds dist/ (prepare), `npm start` rebuilds it when stale.
await import("../dist/bin.js");
