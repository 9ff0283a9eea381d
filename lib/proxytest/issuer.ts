// A minimal external OpenID issuer for the proxy tests: OIDC discovery + a JWKS on 127.0.0.1,
// and a `mint` that signs ID tokens with its key (or with a stranger's key, for forgeries).
// Registered in the test world's `trustedIssuers`, it stands in for Google, Okta, Keycloak…
import http from "node:http";
import type net from "node:net";
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey, type JWTPayload } from "jose";

export interface Issuer {
  issuer: string;
  /** The audience Gatehouse is configured to accept from this issuer. */
  audience: string;
  /**
   * An ID token for `email`. `expiresIn`/`issuedAt` in seconds relative to now (defaults: 1 h,
   * now); `forged` signs with a key that is not in the JWKS (same kid).
   */
  mint(email: string, options?: { expiresIn?: number; issuedAt?: number; audience?: string; forged?: boolean; claims?: JWTPayload }): Promise<string>;
  stop(): Promise<void>;
}

export async function startIssuer(audience = "gatehouse-tests"): Promise<Issuer> {
  const kid = "test-key-1";
  const { privateKey, publicKey } = await generateKeyPair("ES256");
  const stranger: CryptoKey = (await generateKeyPair("ES256")).privateKey;
  const jwk = { ...(await exportJWK(publicKey)), kid, alg: "ES256", use: "sig" };
  let issuer = "";
  const server = http.createServer((req, res) => {
    const send = (body: unknown) => {
      res.writeHead(200, { "content-type": "application/json", "cache-control": "max-age=60" });
      res.end(JSON.stringify(body));
    };
    if (req.url === "/.well-known/openid-configuration") {
      send({ issuer, jwks_uri: `${issuer}/jwks`, id_token_signing_alg_values_supported: ["ES256"] });
    } else if (req.url === "/jwks") {
      send({ keys: [jwk] });
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  issuer = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  return {
    issuer,
    audience,
    async mint(email, options = {}) {
      const now = Math.floor(Date.now() / 1000);
      const iat = now + (options.issuedAt ?? 0);
      return new SignJWT({ email, email_verified: true, ...options.claims })
        .setProtectedHeader({ alg: "ES256", kid, typ: "JWT" })
        .setIssuer(issuer)
        .setAudience(options.audience ?? audience)
        .setSubject(`sub-${email}`)
        .setIssuedAt(iat)
        .setExpirationTime(now + (options.expiresIn ?? 3600))
        .sign(options.forged ? stranger : privateKey);
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
