// The proxy proof (issue 4), shared by nginx.int.test.ts and caddy.int.test.ts: a real proxy,
// configured from the shipped docs/proxies/ file, in front of a backend that verifies the signed
// header against Gatehouse's JWKS; Gatehouse as a child process on its own fresh database; ID
// tokens from an external issuer the world trusts (so expired and forged ones can be minted).
//
// Every deny also asserts that NOTHING reached the backend: a proxy that answers 401/403 after
// having proxied the request would still be a hole.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeJwt, decodeProtectedHeader } from "jose";
import { createTestDatabase, type TestDatabase } from "@/lib/test/db";
import type { PrismaClient } from "@/lib/generated/prisma/client";
import { startBackend, type Backend, type Seen } from "./backend";
import { startGatehouse, lastWord, type Gatehouse } from "./gatehouse";
import { startIssuer, type Issuer } from "./issuer";
import { rawRequest, stopAll, type RawResponse } from "./procs";
import { APP_HOST, startCaddy, startNginx, type RunningProxy } from "./proxies";
import { defineHardeningCases } from "./hardening";
import {
  ALICE,
  APP_AUDIENCE,
  APP_RESOURCE,
  BATCH_SA,
  BOB,
  CAROL,
  CHARGE_AUDIENCE,
  CHARGE_SERVICE,
  GATEWAY_SA,
  MALLORY,
  REFUND_AUDIENCE,
  REFUND_FUNCTION,
  TEST_USERS,
  WIKI_HOST,
  applyTestWorld,
  testWorld,
} from "./world";

/** Encoded and dot-segment spellings of /admin that a backend would serve as /admin. */
export const ADMIN_VARIANTS = [
  "/admin",
  "/admin/",
  "/admin?x=1",
  "/admin;x",
  "/admin;x=1/users",
  "/%61dmin",
  "/%61%64%6d%69%6e",
  "//admin",
  "///admin/users",
  "/x/../admin",
  "/public/../admin",
  "/./admin",
  "/x/%2e%2e/admin",
];

interface DecisionAnswer {
  allowed: boolean;
  reason: string;
  revision: string;
  principal?: string;
  resource?: string;
  permission?: string;
  grantedBy?: { resource: string; role: string; member: string; condition?: string };
  headers?: Record<string, string>;
}

export function defineProxySuite(kind: "nginx" | "caddy") {
  describe(`${kind} → Gatehouse forward-auth → a backend verifying x-goog-iap-jwt-assertion`, () => {
    let db: TestDatabase;
    let issuer: Issuer;
    let gatehouse: Gatehouse;
    let backend: Backend;
    let proxy: RunningProxy;
    let proxyKey: string;
    let trustedKey: string;
    const tokens: Record<string, string> = {};

    const prisma = () => db.prisma as unknown as PrismaClient;
    const world = (engMembers?: string[]) => testWorld({ issuer: issuer.issuer, audience: issuer.audience, engMembers });

    /** A request to the proxy for app.example.com, the path sent as is. */
    const viaProxy = (path: string, headers: Record<string, string> = {}, method = "GET") =>
      rawRequest({ port: proxy.port, path, method, headers: { host: APP_HOST, ...headers } });
    const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

    /** Runs `fn` and returns what reached the backend meanwhile. */
    async function reaching<T>(fn: () => Promise<T>): Promise<[T, Seen[]]> {
      const before = backend.seen.length;
      const r = await fn();
      return [r, backend.seen.slice(before)];
    }

    async function expectDenied(res: Promise<RawResponse>, status: number | number[], what: string): Promise<RawResponse> {
      const [r, seen] = await reaching(() => res);
      const allowed = Array.isArray(status) ? status : [status];
      expect(allowed, `${what}: got ${r.status} ${r.body.slice(0, 200)}`).toContain(r.status);
      expect(seen, `${what}: the request reached the backend`).toEqual([]);
      return r;
    }

    async function expectAllowedAs(res: Promise<RawResponse>, email: string, what: string): Promise<Seen> {
      const [r, seen] = await reaching(() => res);
      expect(r.status, `${what}: ${r.body.slice(0, 300)}`).toBe(200);
      expect(seen, what).toHaveLength(1);
      const s = seen[0]!;
      expect(s.verified?.email, what).toBe(email);
      return s;
    }

    function decide(body: object, key = trustedKey): Promise<RawResponse> {
      return rawRequest({
        port: gatehouse.port,
        path: "/api/v1/decisions",
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    }

    beforeAll(async () => {
      db = await createTestDatabase();
      issuer = await startIssuer();
      await applyTestWorld(prisma(), world());
      gatehouse = await startGatehouse({ databaseUrl: db.url });
      proxyKey = lastWord(await gatehouse.cli("proxy-key", "create", "--name", kind));
      trustedKey = lastWord(await gatehouse.cli("proxy-key", "create", "--name", `${kind}-tests`, "--trusted"));
      backend = await startBackend({ gatehouseUrl: gatehouse.url, audience: APP_AUDIENCE });
      const targets = { gatehousePort: gatehouse.port, appPort: backend.port, proxyKey };
      proxy = kind === "nginx" ? await startNginx(targets) : await startCaddy(targets);
      for (const email of TEST_USERS) tokens[email] = await issuer.mint(email);
    });

    afterAll(async () => {
      await Promise.allSettled([proxy?.stop(), backend?.stop(), gatehouse?.stop(), issuer?.stop()]);
      await stopAll();
      await db?.drop();
    });

    it("allowed user → 200, and the backend verifies the signed identity (ES256, kid in the JWKS, iss, aud)", async () => {
      const seen = await expectAllowedAs(viaProxy("/public", bearer(tokens[ALICE]!)), ALICE, "alice /public");
      // The assertion's own issuer, never the ID tokens' (GATEHOUSE_PUBLIC_URL).
      expect(seen.verified).toMatchObject({ iss: `${gatehouse.url}/iap`, aud: APP_AUDIENCE });
      expect(seen.userEmailHeader).toBe(`accounts.google.com:${ALICE}`);
      // As IAP: `sub` is the prefixed stable id, and the unsigned id header repeats it.
      expect(seen.verified!.sub).toMatch(/^accounts\.google\.com:.+/);
      expect(seen.userIdHeader).toBe(seen.verified!.sub);
      expect(seen.url).toBe("/public");
      expect(seen.proxyKeyHeader, "the proxy credential must not reach the application").toBeUndefined();
      const lifetime = Number(seen.verified!.exp) - Number(seen.verified!.iat);
      expect(lifetime).toBeGreaterThan(0);
      expect(lifetime).toBeLessThanOrEqual(600);

      // The assertion as Gatehouse issues it (the JSON API hands out the same headers).
      const r = await decide({ principal: `user:${ALICE}`, resource: APP_RESOURCE, request: { host: APP_HOST, path: "/public" } });
      expect(r.status, r.body).toBe(200);
      const answer = r.json<DecisionAnswer>();
      expect(answer).toMatchObject({ allowed: true, reason: "GRANTED" });
      const assertion = answer.headers?.["x-goog-iap-jwt-assertion"] ?? "";
      const header = decodeProtectedHeader(assertion);
      expect(header.alg).toBe("ES256");
      const jwks = (await rawRequest({ port: gatehouse.port, path: "/.well-known/jwks.json" })).json<{ keys: { kid: string }[] }>();
      expect(jwks.keys.map((k) => k.kid)).toContain(header.kid);
      expect(decodeJwt(assertion)).toMatchObject({ iss: `${gatehouse.url}/iap`, aud: APP_AUDIENCE, email: ALICE });
    });

    it("Proxy-Authorization is preferred over Authorization (as IAP does)", async () => {
      await expectAllowedAs(
        viaProxy("/public", { "proxy-authorization": `Bearer ${tokens[ALICE]}`, authorization: "Bearer app-level-credential" }),
        ALICE,
        "Proxy-Authorization alice + Authorization for the app",
      );
    });

    it("no binding → 403; a deny policy beats the allow → 403", async () => {
      await expectDenied(viaProxy("/public", bearer(tokens[CAROL]!)), 403, "carol (no binding on app)");
      await expectDenied(viaProxy("/public", bearer(tokens[MALLORY]!)), 403, "mallory (deny policy)");
    });

    it("no token, a malformed token, a forged signature, a wrong audience → 401", async () => {
      const none = await expectDenied(viaProxy("/public"), 401, "no token");
      expect(String(none.headers["www-authenticate"] ?? "")).toMatch(/bearer/i);
      await expectDenied(viaProxy("/public", bearer("not-a-jwt")), 401, "malformed");
      await expectDenied(viaProxy("/public", bearer(await issuer.mint(ALICE, { forged: true }))), 401, "forged signature");
      await expectDenied(viaProxy("/public", bearer(await issuer.mint(ALICE, { audience: "someone-else" }))), 401, "wrong audience");
      const [alg, payload] = tokens[ALICE]!.split(".");
      await expectDenied(viaProxy("/public", bearer(`${alg}.${payload}.`)), 401, "signature stripped");
    });

    it("expired token → 401 (but within the 30 s clock skew it is still accepted)", async () => {
      const expired = await issuer.mint(ALICE, { issuedAt: -3600, expiresIn: -120 });
      await expectDenied(viaProxy("/public", bearer(expired)), 401, "expired two minutes ago");
      const justExpired = await issuer.mint(ALICE, { issuedAt: -600, expiresIn: -5 });
      await expectAllowedAs(viaProxy("/public", bearer(justExpired)), ALICE, "expired five seconds ago (skew)");
    });

    it("a browser without identity is redirected to Gatehouse's sign-in", async () => {
      const r = await expectDenied(viaProxy("/public?x=1", { accept: "text/html,application/xhtml+xml" }), 302, "browser");
      expect(String(r.headers.location)).toMatch(new RegExp(`^${gatehouse.url.replace(/[.]/g, "\\.")}/`));
    });

    it("spoofed x-goog-* identity headers from the client are ignored", async () => {
      const spoof = {
        "x-goog-authenticated-user-email": "accounts.google.com:admin@example.com",
        "x-goog-authenticated-user-id": "accounts.google.com:1",
        "x-goog-iap-jwt-assertion": "forged.assertion.value",
      };
      // With a valid identity: the backend sees the verified one, and Gatehouse's headers only.
      const seen = await expectAllowedAs(viaProxy("/public", { ...bearer(tokens[ALICE]!), ...spoof }), ALICE, "alice + spoof");
      expect(seen.userEmailHeader).toBe(`accounts.google.com:${ALICE}`);
      // Without one, or when denied: nothing reaches the backend.
      await expectDenied(viaProxy("/public", spoof), 401, "spoof only");
      await expectDenied(viaProxy("/public", { ...bearer(tokens[CAROL]!), ...spoof }), 403, "carol + spoof");
      // A genuine assertion, replayed by someone else as a header, is no identity either.
      const r = await decide({ principal: `user:${ALICE}`, resource: APP_RESOURCE, request: { host: APP_HOST, path: "/public" } });
      const genuine = r.json<DecisionAnswer>().headers?.["x-goog-iap-jwt-assertion"] ?? "";
      expect(genuine).not.toBe("");
      await expectDenied(viaProxy("/public", { "x-goog-iap-jwt-assertion": genuine }), 401, "replayed assertion");
    });

    it("the client cannot choose what Gatehouse is asked: spoofed X-Original-URI/X-Forwarded-Uri, or another resource's host", async () => {
      await expectDenied(
        viaProxy("/admin", { ...bearer(tokens[ALICE]!), "x-original-uri": "/public", "x-forwarded-uri": "/public", "x-original-method": "GET" }),
        403,
        "alice /admin claiming /public",
      );
      // carol may reach wiki.example.com; naming that host must not open app's backend to her.
      const [, seen] = await reaching(() => rawRequest({ port: proxy.port, path: "/public", headers: { host: WIKI_HOST, ...bearer(tokens[CAROL]!) } }));
      expect(seen, "carol reached app's backend by sending Host: wiki").toEqual([]);
      await expectDenied(viaProxy("/public", { ...bearer(tokens[CAROL]!), "x-forwarded-host": WIKI_HOST }), 403, "carol X-Forwarded-Host: wiki");
    });

    it("path condition: /public allowed; /admin and its encoded variants denied", async () => {
      for (const path of ["/public", "/public/admin", "/public?next=/admin", "/public/./x"]) {
        const seen = await expectAllowedAs(viaProxy(path, bearer(tokens[ALICE]!)), ALICE, `alice ${path}`);
        expect(seen.url).toBe(path);
      }
      for (const path of ADMIN_VARIANTS) {
        await expectDenied(viaProxy(path, bearer(tokens[ALICE]!)), [400, 403], `alice ${path}`);
      }
    });

    it("a group membership change is enforced within 1 s, without a restart", async () => {
      await expectDenied(viaProxy("/public", bearer(tokens[BOB]!)), 403, "bob before joining");
      for (const [members, want] of [
        [[`user:${ALICE}`, `user:${MALLORY}`, `user:${BOB}`], 200],
        [[`user:${ALICE}`, `user:${MALLORY}`], 403],
      ] as const) {
        await applyTestWorld(prisma(), world([...members]));
        const applied = performance.now();
        let status = 0;
        while (performance.now() - applied < 1000) {
          status = (await viaProxy("/public", bearer(tokens[BOB]!))).status;
          if (status === want) break;
          await new Promise((r) => setTimeout(r, 20));
        }
        const elapsed = performance.now() - applied;
        expect(status, `bob: still ${status} ${Math.round(elapsed)} ms after the change`).toBe(want);
      }
    });

    it("minRevision: a write is enforced on the very next call", async () => {
      const granted = await applyTestWorld(prisma(), world([`user:${ALICE}`, `user:${MALLORY}`, `user:${CAROL}`]));
      expect(granted).not.toBeNull();
      const check = { principal: `user:${CAROL}`, resource: APP_RESOURCE, request: { host: APP_HOST, path: "/public" } };
      let r = await decide({ ...check, minRevision: granted!.toString() });
      expect(r.status, r.body).toBe(200);
      expect(r.json<DecisionAnswer>()).toMatchObject({ allowed: true, reason: "GRANTED" });
      expect(BigInt(r.json<DecisionAnswer>().revision)).toBeGreaterThanOrEqual(granted!);

      const revoked = await applyTestWorld(prisma(), world());
      r = await decide({ ...check, minRevision: revoked!.toString() });
      expect(r.status, r.body).toBe(200);
      expect(r.json<DecisionAnswer>()).toMatchObject({ allowed: false });
      expect(BigInt(r.json<DecisionAnswer>().revision)).toBeGreaterThanOrEqual(revoked!);

      // A revision that will not come: bounded wait, then 503 (fail closed).
      const started = performance.now();
      r = await decide({ ...check, minRevision: (revoked! + 1000n).toString() });
      expect(r.status, r.body).toBe(503);
      expect(performance.now() - started).toBeLessThan(5000);
    });

    it("service account with run.invoker → allowed on its service only", async () => {
      // Gatehouse's own tokens are minted for one resource (its audience) and count for that
      // resource only.
      const mint = async (sa: string, audience: string) => lastWord(await gatehouse.cli("token", "--principal", `serviceAccount:${sa}`, "--audience", audience));
      const gateway = await mint(GATEWAY_SA, CHARGE_AUDIENCE);
      const batch = await mint(BATCH_SA, CHARGE_AUDIENCE);
      const ask = async (token: string, resource: string, key = proxyKey) => {
        const r = await decide({ token, resource }, key);
        expect(r.status, r.body).toBe(200);
        return r.json<DecisionAnswer>();
      };
      expect(await ask(gateway, CHARGE_SERVICE)).toMatchObject({
        allowed: true,
        reason: "GRANTED",
        principal: `serviceAccount:${GATEWAY_SA}`,
        permission: "run.routes.invoke",
      });
      // Which binding granted it is for trusted credentials only.
      expect((await ask(gateway, CHARGE_SERVICE)).grantedBy).toBeUndefined();
      expect(await ask(gateway, CHARGE_SERVICE, trustedKey)).toMatchObject({
        grantedBy: { role: "roles/run.invoker", member: `serviceAccount:${GATEWAY_SA}` },
      });
      expect(await ask(await mint(GATEWAY_SA, REFUND_AUDIENCE), REFUND_FUNCTION)).toMatchObject({ allowed: false, permission: "cloudfunctions.functions.invoke" });
      expect(await ask(await mint(GATEWAY_SA, APP_AUDIENCE), APP_RESOURCE)).toMatchObject({ allowed: false, reason: "NO_MATCHING_BINDING" });
      expect(await ask(batch, CHARGE_SERVICE)).toMatchObject({ allowed: false });
      // The charge token at another resource is no identity there at all.
      expect(await ask(gateway, REFUND_FUNCTION)).toMatchObject({ allowed: false, reason: "UNAUTHENTICATED" });
      // …and through the proxy, the gateway's token opens nothing but its service.
      await expectDenied(viaProxy("/public", bearer(gateway)), 401, "gateway SA's charge token at app");
      await expectDenied(viaProxy("/public", bearer(await mint(GATEWAY_SA, APP_AUDIENCE))), 403, "gateway SA's app token at app");
    });

    it("proxy credentials: a wrong key is 401 and an untrusted key cannot assert a principal", async () => {
      const bad = await rawRequest({
        port: gatehouse.port,
        path: "/api/v1/forward-auth",
        headers: { "x-gatehouse-proxy-key": "ghpk_wrong", "x-original-uri": "/public", host: APP_HOST, ...bearer(tokens[ALICE]!) },
      });
      expect(bad.status).toBe(401);
      const asserted = await decide({ principal: `user:${ALICE}`, resource: APP_RESOURCE, request: { path: "/public" } }, proxyKey);
      expect(asserted.status, asserted.body).toBe(403);
      expect(asserted.json<{ error: { code: string } }>().error.code).toBe("PERMISSION_DENIED");
    });

    defineHardeningCases(kind, {
      prisma,
      gatehouse: () => gatehouse,
      backend: () => backend,
      issuer: () => issuer,
      proxyPort: () => proxy.port,
      proxyKey: () => proxyKey,
      trustedKey: () => trustedKey,
      token: (email) => tokens[email] ?? (() => { throw new Error(`no token minted for ${email}`); })(),
      viaProxy,
      decide,
      reaching,
      expectDenied,
      expectAllowedAs,
    });

    // Last: it stops Gatehouse.
    it("Gatehouse stopped → the proxy denies (5xx, nothing reaches the backend)", async () => {
      await expectAllowedAs(viaProxy("/public", bearer(tokens[ALICE]!)), ALICE, "alice before the stop");
      await gatehouse.stop();
      await expectDenied(viaProxy("/public", bearer(tokens[ALICE]!)), [500, 502, 503, 504], "alice with Gatehouse down");
      await expectDenied(viaProxy("/admin", bearer(tokens[ALICE]!)), [500, 502, 503, 504], "alice /admin with Gatehouse down");
    });
  });
}
