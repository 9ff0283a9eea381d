// The application behind the proxy in the proxy tests — and the example of docs/backend.md.
// It trusts nothing but the signed header: `x-goog-iap-jwt-assertion` verified against
// Gatehouse's JWKS with the assertion's issuer (GATEHOUSE_PUBLIC_URL + "/iap" — never the ID
// tokens' issuer, so no ID token passes) and the expected audience. The plain
// `x-goog-authenticated-user-*` headers are echoed only so the tests can see what reached it.
import http from "node:http";
import type net from "node:net";
import { createRemoteJWKSet, jwtVerify, type JWTVerifyGetKey } from "jose";

// ── the ten lines of docs/backend.md ─────────────────────────────────────────────────────────
export function iapVerifier(gatehouseUrl: string, audience: string) {
  const jwks: JWTVerifyGetKey = createRemoteJWKSet(new URL("/.well-known/jwks.json", gatehouseUrl));
  return async function verify(assertion: string | undefined) {
    if (!assertion) throw new Error("no x-goog-iap-jwt-assertion header");
    const { payload } = await jwtVerify(assertion, jwks, { issuer: `${gatehouseUrl}/iap`, audience, algorithms: ["ES256"] });
    if (typeof payload.email !== "string" || !payload.sub) throw new Error("assertion without email/sub");
    return { email: payload.email, sub: payload.sub, payload };
  };
}
// ─────────────────────────────────────────────────────────────────────────────────────────────

/** What one request looked like when it reached the backend. */
export interface Seen {
  method: string;
  url: string;
  host: string | undefined;
  /** The verified identity, or null when the assertion was missing or invalid. */
  verified: { email: string; sub: string; aud: unknown; iss: unknown; exp: unknown; iat: unknown } | null;
  error?: string;
  /** The unsigned identity headers as received (informational; never trust them). */
  userEmailHeader: string | undefined;
  userIdHeader: string | undefined;
  /** Headers that must never reach the application. */
  proxyKeyHeader: string | undefined;
  /** Credential and method headers as received (what the proxy let through). */
  authorization: string | undefined;
  proxyAuthorization: string | undefined;
  cookie: string | undefined;
  methodOverride: string | undefined;
}

export interface Backend {
  port: number;
  url: string;
  /** Every request that reached the backend, in order. */
  seen: Seen[];
  stop(): Promise<void>;
}

/**
 * Starts the verifying backend on 127.0.0.1. Answers 200 with the `Seen` record as JSON when
 * the assertion verifies, 401 with the same record otherwise.
 */
export async function startBackend(options: { gatehouseUrl: string; audience: string; port?: number }): Promise<Backend> {
  const verify = iapVerifier(options.gatehouseUrl, options.audience);
  const seen: Seen[] = [];
  const sockets = new Set<net.Socket>();
  const server = http.createServer((req, res) => {
    const one = (h: string | string[] | undefined) => (Array.isArray(h) ? h.join(",") : h);
    const record: Seen = {
      method: req.method ?? "",
      url: req.url ?? "",
      host: req.headers.host,
      verified: null,
      userEmailHeader: one(req.headers["x-goog-authenticated-user-email"]),
      userIdHeader: one(req.headers["x-goog-authenticated-user-id"]),
      proxyKeyHeader: one(req.headers["x-gatehouse-proxy-key"]),
      authorization: one(req.headers.authorization),
      proxyAuthorization: one(req.headers["proxy-authorization"]),
      cookie: one(req.headers.cookie),
      methodOverride: one(req.headers["x-http-method-override"]),
    };
    seen.push(record);
    verify(one(req.headers["x-goog-iap-jwt-assertion"])).then(
      ({ email, sub, payload }) => {
        record.verified = { email, sub, aud: payload.aud, iss: payload.iss, exp: payload.exp, iat: payload.iat };
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify(record));
      },
      (e: unknown) => {
        record.error = e instanceof Error ? e.message : String(e);
        res.writeHead(401, { "content-type": "application/json" });
        res.end(JSON.stringify(record));
      },
    );
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as net.AddressInfo;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    seen,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
