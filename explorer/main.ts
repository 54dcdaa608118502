// The development explorer: GraphiQL, bundled into dist/explorer by scripts/build.mjs and served
// by Portcullis itself (src/http/explorer.ts), so that the page loads nothing from elsewhere.
import "./style-nonce.js";
import "graphiql/style.css";
import "./page.css";
import { GraphiQL, type GraphiQLProps } from "graphiql";
import { createElement } from "react";
import { createRoot } from "react-dom/client";

// Monaco starts a worker per language; each is a file of the same build, next to this one.
const workers: Record<string, string> = { json: "json.worker.js", graphql: "graphql.worker.js" };
Object.assign(globalThis, {
  MonacoEnvironment: {
    getWorker: (_id: string, label: string) => new Worker(new URL(workers[label] ?? "editor.worker.js", import.meta.url)),
  },
});

// The same door as every client: POST application/json to /graphql with the bearer typed into
// the headers editor (which also satisfies Apollo's CSRF prevention).
const fetcher: GraphiQLProps["fetcher"] = async (params, options) => {
  const res = await fetch("/graphql", {
    method: "POST",
    headers: { ...options?.headers, "content-type": "application/json" },
    body: JSON.stringify(params),
  });
  return res.json();
};

/** Tabs and history for the life of the page; a reload starts afresh. */
function memoryStorage(): Storage {
  const items = new Map<string, string>();
  return {
    get length() {
      return items.size;
    },
    key: (index) => [...items.keys()][index] ?? null,
    getItem: (key) => items.get(key) ?? null,
    setItem: (key, value) => void items.set(key, String(value)),
    removeItem: (key) => void items.delete(key),
    clear: () => items.clear(),
  };
}

createRoot(document.getElementById("explorer")!).render(
  createElement(GraphiQL, {
    fetcher,
    // Nothing in the browser's storage: the history plugin would otherwise keep every request's
    // headers, the API key among them, in localStorage whatever shouldPersistHeaders says.
    storage: memoryStorage(),
    shouldPersistHeaders: false,
    defaultHeaders: '{\n  "Authorization": "Bearer pcl_..."\n}',
    defaultEditorToolsVisibility: "headers",
  }),
);
