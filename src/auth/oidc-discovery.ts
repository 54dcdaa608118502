// Reads an issuer's signing keys the way OIDC Discovery publishes them: the discovery document
// at <issuer>/.well-known/openid-configuration names jwks_uri. Both are fetched through the
// guarded outbound client, so the issuer and its jwks_uri obey the same address rules.
import type { JSONWebKeySet } from "jose";
import type { IssuerKeyFetcher } from "../crypto/oidc-token.js";
import type { OutboundClient } from "../net/outbound.js";

export function discoveryUrl(issuer: string): string {
  return `${issuer.replace(/\/+$/, "")}/.well-known/openid-configuration`;
}

export function issuerKeyFetcher(outbound: OutboundClient): IssuerKeyFetcher {
  return async (issuer) => {
    const discovery = await outbound.getJson(discoveryUrl(issuer));
    const doc = discovery.body as { issuer?: unknown; jwks_uri?: unknown } | null;
    if (discovery.status !== 200 || !doc || typeof doc !== "object") throw new Error(`The discovery document answered ${discovery.status}`);
    // OIDC Discovery 1.0, 4.3: the document's issuer must be exactly the one it was fetched for.
    if (doc.issuer !== issuer) throw new Error("The discovery document names another issuer");
    if (typeof doc.jwks_uri !== "string") throw new Error("The discovery document has no jwks_uri");
    const jwks = await outbound.getJson(doc.jwks_uri);
    const set = jwks.body as { keys?: unknown } | null;
    if (jwks.status !== 200 || !set || typeof set !== "object" || !Array.isArray(set.keys)) throw new Error(`The JWKS answered ${jwks.status} without a key set`);
    return { keys: set.keys.filter((k): k is JSONWebKeySet["keys"][number] => k !== null && typeof k === "object" && !Array.isArray(k)) };
  };
}
