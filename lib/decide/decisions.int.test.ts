// The decision API over HTTP against a real PostgreSQL: the policy core's decision-case table
// replayed through world-file apply + POST /api/v1/decisions (proving the route adds no logic),
// then the live behaviour: following changes, minRevision, errors, audit.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { AddressInfo } from "node:net";
import http, { type Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import { createTestDatabase, testDbInfo, type TestDatabase } from "@/lib/test/db";
import { STALE_AFTER_MS } from "./engine";
import { MIN_REVISION_WAIT_MS } from "./decide";
import { parseCaseTable, parsePrincipal, compareDecision, type LoadedWorld } from "@/lib/policy";
import { applyWorld } from "@/lib/world/apply";
import { parseWorld } from "@/lib/world/parse";
import { worldCatalog } from "@/lib/world/catalog";
import { validateWorld } from "@/lib/world/validate";
import { canonicalWorld } from "@/lib/world/canonical";
import { DEMO_WORLD_FILE } from "@/lib/admin/seed";
import { createProxyKey, revokeProxyKey } from "@/lib/admin/proxy-keys";
import { SYSTEM_CLI } from "@/lib/admin/context";
import { verifyDataAccess } from "@/lib/audit/verify";
import { issueIdTokenForPrincipal } from "@/lib/identity/id-token";
import { hotPathServer, startDecisionStack, type DecisionStack } from "./stack";

const AUTH_SECRET = "test-only-auth-secret-0123456789abcdef";
/** The demo world's web app's audience: Gatehouse's own tokens count only for their resource. */
const WEB_AUDIENCE = "/projects/100200300/global/backendServices/web";
const opts = { actor: "test", catalog: worldCatalog() };

interface Running {
  t: TestDatabase;
  stack: DecisionStack;
  server: Server;
  base: string;
  trustedKey: string;
  plainKey: string;
  spoolDir: string;
  stop(): Promise<void>;
}

async function startWith(
  worldText: string,
  applyOpts: Partial<Parameters<typeof applyWorld>[2]> = {},
  stackOpts: { maxStalenessMs?: number } = {},
): Promise<Running> {
  const t = await createTestDatabase();
  await applyWorld(t.prisma, parseWorld(worldText), { ...opts, ...applyOpts });
  // The trusted key also reports client regions (the case table has region access levels).
  const trustedKey = (await createProxyKey({ db: t.prisma, actor: SYSTEM_CLI }, { name: "trusted", trusted: true, regionHeader: "x-client-region" })).secret;
  const plainKey = (await createProxyKey({ db: t.prisma, actor: SYSTEM_CLI }, { name: "plain", trusted: false })).secret;
  const spoolDir = fs.mkdtempSync(path.join(os.tmpdir(), "gh-spool-"));
  const stack = await startDecisionStack({
    prisma: t.prisma,
    databaseUrl: t.url,
    publicUrl: "http://gatehouse.test",
    authSecret: AUTH_SECRET,
    bootstrapAdmins: [],
    spoolDir,
    ...stackOpts,
  });
  const server = hotPathServer(stack.ctx);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    t,
    stack,
    server,
    base,
    trustedKey,
    plainKey,
    spoolDir,
    async stop() {
      await new Promise((r) => server.close(r));
      await stack.stop();
      await t.drop();
      fs.rmSync(spoolDir, { recursive: true, force: true });
    },
  };
}

async function post(r: Running, body: unknown, key: string | null = r.trustedKey, url = "/api/v1/decisions") {
  const res = await fetch(r.base + url, {
    method: "POST",
    headers: { "content-type": "application/json", ...(key ? { authorization: `Bearer ${key}` } : {}) },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** The database goes away under a running stack (its engine and log keep their connections' errors). */
async function dropDatabase(r: Running): Promise<void> {
  await r.t.prisma.$disconnect();
  const admin = new pg.Client({ connectionString: testDbInfo().adminUrl });
  await admin.connect();
  await admin.query(`DROP DATABASE ${admin.escapeIdentifier(r.t.name)} WITH (FORCE)`);
  await admin.end();
}

const worlds: LoadedWorld[] = parseCaseTable(fs.readFileSync("lib/policy/cases/cases.yaml", "utf8"));

describe("decision-case table over HTTP", () => {
  for (const w of worlds) {
    it(`${w.name}: ${w.cases.length} cases give the same answers as the core`, async () => {
      // Robustness worlds hold states no write creates (unknown roles, undeclared groups,
      // cycles): the write path must refuse them; they are then loaded without reference checks.
      const writeInvalid = validateWorld(canonicalWorld(parseWorld(JSON.stringify(w.world))), worldCatalog()).length > 0;
      if (writeInvalid) {
        const t = await createTestDatabase();
        await expect(applyWorld(t.prisma, parseWorld(JSON.stringify(w.world)), opts)).rejects.toMatchObject({ code: "FAILED_PRECONDITION" });
        await t.drop();
      }
      const r = await startWith(JSON.stringify(w.world), { referenceChecks: !writeInvalid });
      try {
        const failures: string[] = [];
        const refused: string[] = [];
        // The batch form carries up to 100 checks per call.
        for (let i = 0; i < w.cases.length; i += 100) {
          const slice = w.cases.slice(i, i + 100);
          const checks = slice.map((c) => {
            const { principal, ...rest } = c.input;
            return principal === null ? rest : { principal, ...rest };
          });
          const { status, body } = await post(r, { checks }, r.trustedKey, "/api/v1/decisions:batch");
          expect(status).toBe(200);
          const results = body.results as Record<string, unknown>[];
          slice.forEach((c, j) => {
            const d = results[j] as Parameters<typeof compareDecision>[0] & { error?: { code: string } };
            // Malformed input (a principal that is not user:/serviceAccount:, an IP that is not an
            // address) is refused at the API boundary with 400 and never evaluated; the core, given
            // it anyway, treats such a principal as anonymous. Anything else must match exactly.
            const malformedPrincipal = c.input.principal !== null && !parsePrincipal(c.input.principal).ok;
            if (d.error?.code === "INVALID_ARGUMENT" && (malformedPrincipal || c.expect.allowed === false)) refused.push(c.name);
            else if (d.error) failures.push(`${c.name}: error ${JSON.stringify(d.error)}`);
            else {
              const diff = compareDecision(d, c.expect);
              if (diff.length) failures.push(`${c.name}: ${diff.join("; ")}`);
            }
          });
        }
        expect(failures).toEqual([]);
        // Boundary refusals stay the exception (malformed principals and addresses only).
        expect(refused.length).toBeLessThanOrEqual(20);
      } finally {
        await r.stop();
      }
    });
  }
});

describe("decision API", () => {
  let r: Running;
  const demo = fs.readFileSync(DEMO_WORLD_FILE, "utf8");
  beforeAll(async () => {
    r = await startWith(demo);
  });
  afterAll(() => r.stop());

  it("answers allow with the deciding binding and signed identity headers", async () => {
    const { status, body } = await post(r, { principal: "user:alice@example.com", request: { host: "web.example.test", path: "/" } });
    expect(status).toBe(200);
    expect(body).toMatchObject({
      allowed: true,
      reason: "GRANTED",
      principal: "user:alice@example.com",
      resource: "projects/demo/iap_web/compute/services/web",
      permission: "iap.webServiceVersions.accessViaIAP",
      grantedBy: { resource: "projects/demo", role: "roles/iap.httpsResourceAccessor", member: "group:engineering@example.com", condition: "Not admin paths" },
      headers: { "x-goog-authenticated-user-email": "accounts.google.com:alice@example.com" },
    });
    expect(body.decisionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(body.revision).toMatch(/^\d+$/);
  });

  it("fails closed on path tricks and says why", async () => {
    for (const path of ["/admin", "/%61dmin", "//admin", "/x/../admin", "/admin;x=1", "/ADMIN/../admin"]) {
      const { body } = await post(r, { principal: "user:alice@example.com", request: { host: "web.example.test", path } });
      expect({ path, allowed: body.allowed, reason: body.reason }).toEqual({ path, allowed: false, reason: "CONDITION_NOT_MET" });
    }
  });

  it("reports deny policies, unknown resources and anonymous callers", async () => {
    expect((await post(r, { principal: "user:mallory@example.com", resource: "projects/payments/iap_web/compute/services/admin" })).body).toMatchObject({
      allowed: false,
      reason: "DENIED_BY_POLICY",
      deniedBy: { attachedTo: "projects/payments" },
    });
    expect((await post(r, { principal: "user:alice@example.com", request: { host: "nowhere.example.test" } })).body).toMatchObject({ allowed: false, reason: "UNKNOWN_RESOURCE" });
    expect((await post(r, { resource: "projects/demo/iap_web/compute/services/web" })).body).toMatchObject({ allowed: false, reason: "UNAUTHENTICATED" });
  });

  it("rejects bad calls with a status and a machine-readable code, evaluates nothing, and records each as a refusal", async () => {
    await r.stack.ctx.log.flush();
    const before = r.stack.ctx.log.getStats().recorded;
    const lastSeq = (await r.t.prisma.dataAccessLog.aggregate({ _max: { seq: true } }))._max.seq ?? 0n;
    expect(await post(r, { principal: "user:alice@example.com", resource: "x" }, null)).toMatchObject({ status: 401, body: { error: { code: "UNAUTHENTICATED" } } });
    expect(await post(r, { principal: "user:alice@example.com", resource: "x" }, "ghpk_wrong")).toMatchObject({ status: 401, body: { error: { code: "UNAUTHENTICATED" } } });
    expect(await post(r, "{not json")).toMatchObject({ status: 400, body: { error: { code: "INVALID_ARGUMENT" } } });
    expect(await post(r, { principal: "user:alice@example.com", colour: "red" })).toMatchObject({ status: 400, body: { error: { code: "INVALID_ARGUMENT" } } });
    expect(await post(r, { principal: "alice", resource: "projects/demo" })).toMatchObject({ status: 400, body: { error: { code: "INVALID_ARGUMENT" } } });
    expect(await post(r, { principal: "user:a@example.com", token: "x", resource: "projects/demo" })).toMatchObject({ status: 400 });
    // An untrusted proxy may not assert who the user is, nor set the clock.
    expect(await post(r, { principal: "user:alice@example.com", resource: "projects/demo" }, r.plainKey)).toMatchObject({ status: 403, body: { error: { code: "PERMISSION_DENIED" } } });
    // Wrong method; a body over the limit is refused without being read to its end.
    const get = await fetch(`${r.base}/api/v1/decisions`, { headers: { authorization: `Bearer ${r.trustedKey}` } });
    expect([get.status, get.headers.get("allow"), ((await get.json()) as { error: { code: string } }).error.code]).toEqual([405, "POST", "METHOD_NOT_ALLOWED"]);
    const huge = { principal: "user:alice@example.com", resource: "projects/demo", request: { path: `/${"a".repeat(200_000)}` } };
    expect(await post(r, huge)).toMatchObject({ status: 413, body: { error: { code: "PAYLOAD_TOO_LARGE" } } });
    expect(r.stack.ctx.log.getStats().recorded).toBe(before + 9);
    await r.stack.ctx.log.flush();
    const refused = await r.t.prisma.dataAccessLog.findMany({ where: { seq: { gt: lastSeq } } });
    expect(refused.map((x) => [x.granted, x.reason.startsWith("REFUSED_")])).toEqual(Array(9).fill([false, true]));
  });

  it("an untrusted proxy must pass a token; a bad token is UNAUTHENTICATED, never anonymous", async () => {
    const { body } = await post(r, { token: "not.a.jwt", resource: "projects/demo/iap_web/appengine-demo/services/default/versions/v1" }, r.plainKey);
    expect(body).toMatchObject({ allowed: false, reason: "UNAUTHENTICATED" });
  });

  it("enforces a group membership change without a restart, and minRevision on the very next call", async () => {
    const check = { principal: "user:dave@example.com", resource: "projects/payments/iap_web/compute/services/admin" };
    expect((await post(r, check)).body.allowed).toBe(false);
    const world = parseWorld(demo);
    world.groups = world.groups!.map((g) => (g.email === "oncall@example.com" ? { ...g, members: [...g.members!, "user:dave@example.com"] } : g));
    const { revision } = await applyWorld(r.t.prisma, world, opts);
    // Read-your-writes: with minRevision the very next call sees the change.
    expect((await post(r, { ...check, minRevision: String(revision) })).body).toMatchObject({ allowed: true, revision: String(revision) });

    // Without minRevision, the change arrives by notification within a second.
    world.groups = world.groups!.map((g) => (g.email === "oncall@example.com" ? { ...g, members: ["user:carol@example.com"] } : g));
    const started = Date.now();
    await applyWorld(r.t.prisma, world, opts);
    let allowed = true;
    while (allowed && Date.now() - started < 1000) {
      allowed = (await post(r, check)).body.allowed as boolean;
      if (allowed) await new Promise((res) => setTimeout(res, 20));
    }
    expect(allowed).toBe(false);
  });

  it("fails closed with 503 when minRevision cannot be reached", async () => {
    expect(await post(r, { principal: "user:alice@example.com", resource: "projects/demo", minRevision: "999999" })).toMatchObject({ status: 503, body: { error: { code: "UNAVAILABLE" } } });
  });

  it("writes every decision to the hash-chained data-access log", async () => {
    const { body } = await post(r, { principal: "user:bob@example.com", request: { host: "wiki.example.test", path: "/page", ip: "10.1.2.3", method: "post" } });
    await r.stack.ctx.log.flush();
    const row = await r.t.prisma.dataAccessLog.findUniqueOrThrow({ where: { decisionId: body.decisionId as string } });
    expect(row).toMatchObject({ principal: "user:bob@example.com", resourceName: "projects/demo/iap_web/compute/services/wiki", granted: true, reason: "GRANTED", callerIp: "10.1.2.3", host: "wiki.example.test", path: "/page", method: "POST" });
    expect(row.decidedBy).toMatchObject({ member: "domain:example.com" });
    expect(await verifyDataAccess(r.t.prisma)).toMatchObject({ ok: true });
  });

  it("a revoked proxy credential stops working at once; a scoped one only reaches its scope", async () => {
    const scoped = await createProxyKey({ db: r.t.prisma, actor: SYSTEM_CLI }, { name: "scoped", trusted: true, scopes: ["projects/payments"] });
    const revision = String((await r.t.prisma.policyRevision.findUniqueOrThrow({ where: { id: 1 } })).value);
    const inScope = { principal: "user:bob@example.com", resource: "projects/payments/iap_web/compute/services/admin" };
    // New credentials arrive on the change feed like any other change (no lookups on the hot path).
    await post(r, { ...inScope, minRevision: revision });
    expect(await post(r, inScope, scoped.secret)).toMatchObject({ status: 200, body: { allowed: true } });
    expect(await post(r, { ...inScope, resource: "projects/demo/iap_web/compute/services/web" }, scoped.secret)).toMatchObject({ status: 403, body: { error: { code: "PERMISSION_DENIED" } } });

    await revokeProxyKey({ db: r.t.prisma, actor: SYSTEM_CLI }, "scoped");
    const after = String((await r.t.prisma.policyRevision.findUniqueOrThrow({ where: { id: 1 } })).value);
    // Any call that waits for the revocation's revision proves it is enforced from then on.
    await post(r, { ...inScope, minRevision: after });
    expect(await post(r, inScope, scoped.secret)).toMatchObject({ status: 401, body: { error: { code: "UNAUTHENTICATED" } } });
    const audit = await r.t.prisma.adminActivityLog.findMany({ where: { methodName: { in: ["CreateProxyCredential", "RevokeProxyCredential"] } } });
    expect(audit.map((a) => a.methodName)).toContain("RevokeProxyCredential");
  });

  it("forward-auth speaks Envoy's ext_authz form (original path appended, original method)", async () => {
    const { token } = await issueIdTokenForPrincipal(r.stack.ctx.prisma, r.stack.ctx.ring, { principal: "user:alice@example.com", audience: WEB_AUDIENCE });
    // node:http, because fetch may not set Host (Envoy sends the original one).
    const ask = (path: string, headers: Record<string, string>) =>
      new Promise<{ status: number; headers: { get(name: string): string | null } }>((resolve, reject) => {
        const req = http.request(`${r.base}/api/v1/forward-auth${path}`, { headers: { host: "web.example.test", "x-gatehouse-proxy-key": r.plainKey, ...headers } }, (res) => {
          res.resume();
          const h = res.headers;
          resolve({ status: res.statusCode ?? 0, headers: { get: (n) => (h[n] as string | undefined) ?? null } });
        });
        req.on("error", reject);
        req.end();
      });
    const ok = await ask("/docs?page=1", { authorization: `Bearer ${token}` });
    expect(ok.status).toBe(200);
    expect(ok.headers.get("x-goog-authenticated-user-email")).toBe("accounts.google.com:alice@example.com");
    expect(ok.headers.get("x-goog-iap-jwt-assertion")).toMatch(/^ey/);
    expect((await ask("/admin", { authorization: `Bearer ${token}` })).status).toBe(403);
    expect((await ask("/%61dmin", { authorization: `Bearer ${token}` })).status).toBe(403);
    const anonymous = await ask("/docs", {});
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get("x-gatehouse-signin-url")).toBe(`http://gatehouse.test/api/v1/app-session/start?rd=${encodeURIComponent("https://web.example.test/docs")}`);
    // A client-sent identity header is not an identity.
    expect((await ask("/docs", { "x-goog-authenticated-user-email": "accounts.google.com:alice@example.com" })).status).toBe(401);
    expect((await ask("/docs", { authorization: `Bearer ${token}`, "x-gatehouse-proxy-key": "ghpk_wrong" })).status).toBe(401);
  });

  it("forward-auth answers have an empty body of known length (nginx reuses the connection); browsers get a page", async () => {
    const { token } = await issueIdTokenForPrincipal(r.stack.ctx.prisma, r.stack.ctx.ring, { principal: "user:alice@example.com", audience: WEB_AUDIENCE });
    const ask = (headers: Record<string, string>) =>
      new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>((resolve, reject) => {
        const req = http.request(`${r.base}/api/v1/forward-auth`, { headers: { host: "web.example.test", "x-gatehouse-proxy-key": r.plainKey, "x-original-uri": "/admin", ...headers } }, (res) => {
          let body = "";
          res.on("data", (c: Buffer) => (body += c.toString()));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        });
        req.on("error", reject);
        req.end();
      });
    for (const [headers, status] of [[{ authorization: `Bearer ${token}` }, 403], [{}, 401]] as const) {
      const api = await ask(headers);
      expect([api.status, api.headers["content-length"], api.headers["transfer-encoding"], api.body]).toEqual([status, "0", undefined, ""]);
      const page = await ask({ ...headers, accept: "text/html,application/xhtml+xml" });
      expect(page.status).toBe(status);
      expect(page.headers["content-type"]).toMatch(/^text\/html/);
      expect(Number(page.headers["content-length"])).toBe(Buffer.byteLength(page.body));
      // A denied user who may not troubleshoot the resource learns neither why nor where to look (e2e/ops.spec.ts: an admin does).
      expect(page.body).toContain(status === 403 ? "You do not have access" : "/api/v1/app-session/start?rd=");
      if (status === 403) expect([page.body.includes("CONDITION_NOT_MET"), page.headers["x-gatehouse-troubleshoot-url"]]).toEqual([false, undefined]);
    }
    const ok = await ask({ authorization: `Bearer ${token}`, "x-original-uri": "/docs" });
    expect([ok.status, ok.headers["content-length"], ok.body]).toEqual([200, "0", ""]);
  });

  it("a batch waits once for the highest minRevision, not once per check", async () => {
    const unreachable = String((await r.t.prisma.policyRevision.findUniqueOrThrow({ where: { id: 1 } })).value + 1000n);
    const check = { principal: "user:alice@example.com", resource: "projects/demo" };
    const started = performance.now();
    const { status, body } = await post(r, { checks: [{ ...check, minRevision: unreachable }, check, { ...check, minRevision: unreachable }, { ...check, minRevision: unreachable }] }, r.trustedKey, "/api/v1/decisions:batch");
    const elapsed = performance.now() - started;
    expect(status).toBe(200);
    const results = body.results as { error?: { code: string }; allowed?: boolean }[];
    expect(results.map((x) => x.error?.code ?? "answered")).toEqual(["UNAVAILABLE", "answered", "UNAVAILABLE", "UNAVAILABLE"]);
    expect(elapsed, "one bounded wait for the batch").toBeLessThan(MIN_REVISION_WAIT_MS * 2);
  });

  it("a scoped credential learns nothing outside its scope, known or unknown", async () => {
    const scoped = await createProxyKey({ db: r.t.prisma, actor: SYSTEM_CLI }, { name: "scoped-oracle", trusted: true, scopes: ["projects/payments"] });
    const revision = String((await r.t.prisma.policyRevision.findUniqueOrThrow({ where: { id: 1 } })).value);
    await post(r, { principal: "user:bob@example.com", resource: "projects/demo", minRevision: revision });
    const ask = (body: object) => post(r, { principal: "user:bob@example.com", ...body }, scoped.secret);
    const denied = { status: 403, body: { error: { code: "PERMISSION_DENIED", message: "this proxy credential may not ask about this resource" } } };
    // Outside the scope: existing and made-up names, mapped and unmapped hosts — one answer.
    expect(await ask({ resource: "projects/demo/iap_web/compute/services/web" })).toMatchObject(denied);
    expect(await ask({ resource: "projects/demo/iap_web/compute/services/no-such-thing" })).toMatchObject(denied);
    expect(await ask({ request: { host: "web.example.test" } })).toMatchObject(denied);
    expect(await ask({ request: { host: "nowhere.example.test" } })).toMatchObject(denied);
    // Inside the scope an unknown resource is simply unknown.
    expect(await ask({ resource: "projects/payments/iap_web/compute/services/no-such-thing" })).toMatchObject({ status: 200, body: { reason: "UNKNOWN_RESOURCE" } });
  });

  it("the audit record keeps the region the decision used, and only that one", async () => {
    const withRegion = (await post(r, { principal: "user:alice@example.com", request: { host: "web.example.test", path: "/", regionCode: "de" } })).body;
    const without = (await post(r, { principal: "user:alice@example.com", request: { host: "web.example.test", path: "/" } })).body;
    await r.stack.ctx.log.flush();
    const row = (id: unknown) => r.t.prisma.dataAccessLog.findUniqueOrThrow({ where: { decisionId: id as string } });
    expect((await row(withRegion.decisionId)).regionCode).toBe("DE");
    expect((await row(without.decisionId)).regionCode).toBeNull();
    expect(await verifyDataAccess(r.t.prisma)).toMatchObject({ ok: true });
  });

  it("a what-if is marked in its audit record (evaluated at its time, logged at the real one) and carries no headers", async () => {
    const before = Date.now();
    const { body } = await post(r, { principal: "user:alice@example.com", request: { host: "web.example.test", path: "/", time: "2031-02-03T04:05:06Z" } });
    expect(body).toMatchObject({ allowed: true });
    expect(body.headers).toBeUndefined();
    const real = (await post(r, { principal: "user:alice@example.com", request: { host: "web.example.test", path: "/" } })).body;
    await r.stack.ctx.log.flush();
    const whatIf = await r.t.prisma.dataAccessLog.findUniqueOrThrow({ where: { decisionId: body.decisionId as string } });
    expect(whatIf.whatIfTime?.toISOString()).toBe("2031-02-03T04:05:06.000Z");
    expect(whatIf.timestamp.getTime()).toBeGreaterThanOrEqual(before - 1000);
    expect(whatIf.timestamp.getTime()).toBeLessThan(Date.now() + 1000);
    expect((await r.t.prisma.dataAccessLog.findUniqueOrThrow({ where: { decisionId: real.decisionId as string } })).whatIfTime).toBeNull();
    expect(await verifyDataAccess(r.t.prisma)).toMatchObject({ ok: true });
  });

  it("a request path with a fragment is refused", async () => {
    expect(await post(r, { principal: "user:alice@example.com", request: { host: "web.example.test", path: "/public#x" } })).toMatchObject({ status: 400, body: { error: { code: "INVALID_ARGUMENT" } } });
  });

  it("serves the JWKS and the OpenID configuration", async () => {
    const jwks = (await (await fetch(`${r.base}/.well-known/jwks.json`)).json()) as { keys: { kid: string; alg: string }[] };
    expect(jwks.keys[0]).toMatchObject({ alg: "ES256" });
    const oidc = (await (await fetch(`${r.base}/.well-known/openid-configuration`)).json()) as Record<string, string>;
    expect(oidc).toMatchObject({ issuer: "http://gatehouse.test", jwks_uri: "http://gatehouse.test/.well-known/jwks.json" });
  });
});

describe("decision audit survives a database outage", () => {
  it("spools to disk while the database refuses writes and drains in order afterwards", async () => {
    const r = await startWith(fs.readFileSync(DEMO_WORLD_FILE, "utf8"));
    try {
      const log = r.stack.ctx.log;
      // Make every write fail, as an unreachable database would.
      await r.t.prisma.$executeRawUnsafe(`REVOKE INSERT ON "DataAccessLog" FROM PUBLIC`);
      await r.t.prisma.$executeRawUnsafe(`CREATE OR REPLACE FUNCTION gh_block() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'database unavailable'; END $$ LANGUAGE plpgsql`);
      await r.t.prisma.$executeRawUnsafe(`CREATE TRIGGER gh_block BEFORE INSERT ON "DataAccessLog" FOR EACH STATEMENT EXECUTE FUNCTION gh_block()`);
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) ids.push((await post(r, { principal: "user:alice@example.com", resource: "projects/demo" })).body.decisionId as string);
      await log.flush();
      expect(log.getStats()).toMatchObject({ spooled: 5, pending: 0 });
      expect(fs.readFileSync(path.join(r.spoolDir, "data-access.ndjson"), "utf8").trim().split("\n")).toHaveLength(5);
      // Decisions keep being answered meanwhile.
      ids.push((await post(r, { principal: "user:alice@example.com", resource: "projects/demo" })).body.decisionId as string);

      await r.t.prisma.$executeRawUnsafe(`DROP TRIGGER gh_block ON "DataAccessLog"`);
      await log.flush();
      expect(fs.existsSync(path.join(r.spoolDir, "data-access.ndjson"))).toBe(false);
      const rows = await r.t.prisma.dataAccessLog.findMany({ orderBy: { seq: "asc" }, select: { decisionId: true } });
      expect(rows.map((x) => x.decisionId)).toEqual(ids);
      expect(await verifyDataAccess(r.t.prisma)).toMatchObject({ ok: true, records: 6 });
    } finally {
      await r.stop();
    }
  });
});

describe("when the database goes away", () => {
  it("decisions continue from the last snapshot, and health says it is stale", async () => {
    const r = await startWith(fs.readFileSync(DEMO_WORLD_FILE, "utf8"));
    try {
      const check = { principal: "user:alice@example.com", request: { host: "web.example.test", path: "/" } };
      expect((await post(r, check)).body.allowed).toBe(true);
      await dropDatabase(r);
      await new Promise((res) => setTimeout(res, STALE_AFTER_MS + 1500));
      expect((await post(r, check)).body).toMatchObject({ allowed: true, reason: "GRANTED" });
      // The error text (it names the database) only for a caller holding a proxy credential.
      const anonymous = await fetch(`${r.base}/healthz`);
      const text = await anonymous.text();
      expect(anonymous.status).toBe(200);
      expect(JSON.parse(text)).toMatchObject({ status: "stale", engine: { stale: true } });
      expect(text).not.toMatch(/error|database|does not exist/i);
      const health = (await (await fetch(`${r.base}/healthz`, { headers: { "x-gatehouse-proxy-key": r.plainKey } })).json()) as { status: string; engine: { stale: boolean; error: string | null } };
      expect(health).toMatchObject({ status: "stale", engine: { stale: true } });
      expect(health.engine.error).toBeTruthy();
    } finally {
      await new Promise((res) => r.server.close(res));
      await r.stack.stop();
      fs.rmSync(r.spoolDir, { recursive: true, force: true });
    }
  });
});

describe("host and path-prefix mapping", () => {
  it("maps by whole segments, and denies a request whose raw and normalised paths select different resources", async () => {
    const world = `
organizations: [{ id: "1", displayName: Acme, domain: acme.test }]
projects: [{ id: p, number: "42", parent: organizations/1 }]
resources:
  - { name: projects/p/iap_web/compute/services/portal, iap: true, hosts: [acme.test] }
  - { name: projects/p/iap_web/compute/services/admin, iap: true, hosts: [acme.test], pathPrefix: /admin }
  - { name: projects/p/iap_web/compute/services/tenants, iap: true, hosts: ["*.acme.test"] }
policies:
  - { resource: projects/p, bindings: [{ role: roles/iap.httpsResourceAccessor, members: [domain:acme.test] }] }
`;
    const r = await startWith(world);
    try {
      const ask = async (host: string, path: string) => (await post(r, { principal: "user:ann@acme.test", request: { host, path } })).body;
      expect(await ask("acme.test", "/admin/users")).toMatchObject({ allowed: true, resource: "projects/p/iap_web/compute/services/admin" });
      expect(await ask("acme.test", "/administrator")).toMatchObject({ allowed: true, resource: "projects/p/iap_web/compute/services/portal" });
      // Raw /admin/../x is under the prefix; normalised /x is not: which backend serves it depends
      // on the proxy — Gatehouse does not guess.
      expect(await ask("acme.test", "/admin/../x")).toMatchObject({ allowed: false, reason: "UNKNOWN_RESOURCE" });
      expect(await ask("acme.test", "/x/../admin/y")).toMatchObject({ allowed: false, reason: "UNKNOWN_RESOURCE" });
      expect(await ask("one.acme.test", "/")).toMatchObject({ allowed: true, resource: "projects/p/iap_web/compute/services/tenants" });
      expect(await ask("a.b.acme.test", "/")).toMatchObject({ allowed: false, reason: "UNKNOWN_RESOURCE" });
    } finally {
      await r.stop();
    }
  });
});

describe("past the staleness bound", () => {
  it("decisions fail closed with 503, and so does health", async () => {
    const r = await startWith(fs.readFileSync(DEMO_WORLD_FILE, "utf8"), {}, { maxStalenessMs: 2500 });
    try {
      const check = { principal: "user:alice@example.com", request: { host: "web.example.test", path: "/" } };
      expect((await post(r, check)).body.allowed).toBe(true);
      await dropDatabase(r);
      await new Promise((res) => setTimeout(res, 3500));
      expect(await post(r, check)).toMatchObject({ status: 503, body: { error: { code: "UNAVAILABLE" } } });
      const health = await fetch(`${r.base}/healthz`);
      expect(health.status).toBe(503);
      expect(await health.json()).toMatchObject({ status: "unavailable", engine: { fresh: false } });
    } finally {
      await new Promise((res) => r.server.close(res));
      await r.stack.stop();
      fs.rmSync(r.spoolDir, { recursive: true, force: true });
    }
  });
});
