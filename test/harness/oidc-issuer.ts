// A local OIDC issuer: serves its discovery document and JWKS on 127.0.0.1, signs tokens with
// jose, rotates keys, and counts the requests it gets (to see caching and refetch cooldowns).
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from "jose";

export interface IssuerKey {
  kid: string;
  alg: string;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  publicJwk: JWK;
}

export interface SignOptions {
  /** Signs with this key instead of the current one (e.g. an attacker's). */
  key?: IssuerKey;
  /** Extra or overriding protected header parameters. */
  header?: Record<string, unknown>;
}

export interface OidcIssuer {
  /** The issuer identifier, e.g. http://127.0.0.1:PORT/tenant */
  issuer: string;
  audience: string;
  /** The key new tokens are signed with, published in the JWKS. */
  key: IssuerKey;
  requests: { discovery: number; jwks: number };
  /** A fresh key pair that the issuer does NOT publish. */
  newKey(alg?: string): Promise<IssuerKey>;
  /** Publishes a new signing key; the old one stays published only with keepOld. */
  rotate(options?: { keepOld?: boolean }): Promise<IssuerKey>;
  /** Default claims (iss, aud, sub, iat, nbf, exp from `now`) merged with these; an undefined value removes a claim. */
  sign(claims?: Record<string, unknown>, options?: SignOptions): Promise<string>;
  stop(): Promise<void>;
}

export interface IssuerOptions {
  /** The clock tokens are dated by: pass the server's clock, so that expiry is tested without waiting. */
  now: () => Date;
  audience?: string;
  alg?: string;
}

let kidCounter = 0;

async function makeKey(alg: string): Promise<IssuerKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const kid = `key-${++kidCounter}`;
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: "sig" };
  return { kid, alg, privateKey, publicKey, publicJwk };
}

export async function startOidcIssuer(options: IssuerOptions): Promise<OidcIssuer> {
  const alg = options.alg ?? "ES256";
  let published: IssuerKey[] = [await makeKey(alg)];
  const requests = { discovery: 0, jwks: 0 };
  let issuer = "";

  const server: Server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    if (path === "/tenant/.well-known/openid-configuration") {
      requests.discovery++;
      send(200, { issuer, jwks_uri: `${issuer}/jwks`, id_token_signing_alg_values_supported: [alg] });
    } else if (path === "/tenant/jwks") {
      requests.jwks++;
      send(200, { keys: published.map((k) => k.publicJwk) });
    } else {
      send(404, { error: "not_found" });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}/tenant`;
  const audience = options.audience ?? "portcullis-test";

  const self: OidcIssuer = {
    issuer,
    audience,
    key: published[0],
    requests,
    newKey: (keyAlg = alg) => makeKey(keyAlg),
    async rotate({ keepOld = false } = {}) {
      const key = await makeKey(alg);
      published = keepOld ? [...published, key] : [key];
      self.key = key;
      return key;
    },
    async sign(claims = {}, { key = self.key, header = {} } = {}) {
      const now = Math.floor(options.now().getTime() / 1000);
      const payload: Record<string, unknown> = { iss: issuer, aud: audience, sub: "subject-1", iat: now, nbf: now, exp: now + 300, ...claims };
      for (const [name, value] of Object.entries(payload)) if (value === undefined) delete payload[name];
      return new SignJWT(payload).setProtectedHeader({ alg: key.alg, kid: key.kid, typ: "JWT", ...header }).sign(key.privateKey);
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
  return self;
}
