// The holes of the hardening issue, each pinned through the real proxy (nginx or Caddy, from the
// shipped config) where the hole is on the proxy path, else against the same running Gatehouse.
// Registered by cases.ts inside its suite, with the suite's running stack.
import { expect, it } from "vitest";
import { decodeJwt } from "jose";
import { encode } from "next-auth/jwt";
import { OAuth2Client } from "google-auth-library";
import { createPublicKey } from "node:crypto";
import type { PrismaClient } from "@/lib/generated/prisma/client";
import type { Backend, Seen } from "./backend";
import { lastWord, TEST_AUTH_SECRET, type Gatehouse } from "./gatehouse";
import type { Issuer } from "./issuer";
import { rawRequest, type RawResponse } from "./procs";
import { APP_HOST } from "./proxies";
import { ALICE, APP_AUDIENCE, APP_RESOURCE, AUDITOR, BATCH_SA, DAVE, ERIN, FRANK, GRACE, WIKI_HOST, WIKI_RESOURCE, ZOE } from "./world";

export interface Harness {
  prisma(): PrismaClient;
  gatehouse(): Gatehouse;
  backend(): Backend;
  issuer(): Issuer;
  proxyPort(): number;
  /** The untrusted credential the proxy uses, and a trusted one for the JSON API. */
  proxyKey(): string;
  trustedKey(): string;
  token(email: string): string;
  viaProxy(path: string, headers?: Record<string, string>, method?: string): Promise<RawResponse>;
  decide(body: object, key?: string): Promise<RawResponse>;
  reaching<T>(fn: () => Promise<T>): Promise<[T, Seen[]]>;
  expectDenied(res: Promise<RawResponse>, status: number | number[], what: string): Promise<RawResponse>;
  expectAllowedAs(res: Promise<RawResponse>, email: string, what: string): Promise<Seen>;
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

interface Answer {
  allowed: boolean;
  reason: string;
  headers?: Record<string, string>;
  grantedBy?: unknown;
  deniedBy?: unknown;
  tokenError?: string;
  error?: { code: string; message: string };
}

/**
 * A console session exactly as Auth.js writes its cookie (JWE under AUTH_SECRET, salted by its
 * name) after an SSO sign-in, for a console account that exists (as sign-in makes it).
 */
async function consoleCookie(h: Harness, email: string, via = "oidc"): Promise<string> {
  await h.prisma().user.upsert({ where: { email }, create: { email }, update: {} });
  const name = "authjs.session-token";
  const value = await encode({ token: { email, sub: email, authAt: Date.now(), via }, secret: TEST_AUTH_SECRET, salt: name, maxAge: 3600 });
  return `${name}=${value}`;
}

function forwardAuth(h: Harness, headers: Record<string, string>, key = h.proxyKey()): Promise<RawResponse> {
  return rawRequest({
    port: h.gatehouse().port,
    path: "/api/v1/forward-auth",
    headers: { "x-gatehouse-proxy-key": key, host: APP_HOST, "x-original-uri": "/public", "x-original-method": "GET", ...headers },
  });
}

export function defineHardeningCases(kind: "nginx" | "caddy", h: Harness): void {
  // ── 2. identity headers only for the permission that grants passage ─────────────────────
  it("a caller-chosen permission never gets an assertion signed (auditor asks resourcemanager.projects.get)", async () => {
    const auditor = await h.issuer().mint(AUDITOR);
    const r = await h.decide({ token: auditor, resource: APP_RESOURCE, permission: "resourcemanager.projects.get" }, h.proxyKey());
    expect(r.status, r.body).toBe(200);
    const a = r.json<Answer>();
    expect(a.allowed, "the auditor does hold resourcemanager.projects.get there").toBe(true);
    expect(a.headers, "an answer for another permission carries no identity headers").toBeUndefined();
    // The same holds for a trusted proxy asserting the principal.
    const t = (await h.decide({ principal: `user:${AUDITOR}`, resource: APP_RESOURCE, permission: "resourcemanager.projects.get" })).json<Answer>();
    expect(t).toMatchObject({ allowed: true });
    expect(t.headers).toBeUndefined();
    // …while the passage permission (the default) is denied to the auditor, through the proxy too.
    await h.expectDenied(h.viaProxy("/public", bearer(auditor)), 403, "auditor at app");
  });

  // ── 3. the assertion has its own issuer; an ID token is not an assertion and vice versa ──
  it("an ID token minted for a backend's audience is refused by backends (jose and google-auth-library), and an assertion is never a credential", async () => {
    const gh = h.gatehouse();
    const seen = await h.expectAllowedAs(h.viaProxy("/public", bearer(h.token(ALICE))), ALICE, "alice");
    expect(seen.verified!.iss).toBe(`${gh.url}/iap`);
    const assertion = (await h.decide({ principal: `user:${ALICE}`, resource: APP_RESOURCE, request: { host: APP_HOST, path: "/public" } })).json<Answer>().headers![
      "x-goog-iap-jwt-assertion"
    ]!;
    // A service account with no grant on the app mints an ID token whose aud is the app's audience.
    const forged = lastWord(await gh.cli("token", "--principal", `serviceAccount:${BATCH_SA}`, "--audience", APP_AUDIENCE));
    expect(decodeJwt(forged)).toMatchObject({ iss: gh.url, aud: APP_AUDIENCE });
    // Sent straight to the backend as the header: the backend (docs/backend.md) refuses it.
    const direct = await rawRequest({ port: h.backend().port, path: "/public", headers: { "x-goog-iap-jwt-assertion": forged } });
    expect(direct.status, direct.body).toBe(401);
    expect(direct.json<Seen>().error).toMatch(/iss/);
    // google-auth-library, as IAP-aware Node apps verify it: the assertion passes, the ID token does not.
    const jwks = (await rawRequest({ port: gh.port, path: "/.well-known/jwks.json" })).json<{ keys: ({ kid: string } & Record<string, unknown>)[] }>();
    const pems = Object.fromEntries(jwks.keys.map((k) => [k.kid, createPublicKey({ key: k, format: "jwk" }).export({ type: "spki", format: "pem" }).toString()]));
    const client = new OAuth2Client();
    const ticket = await client.verifySignedJwtWithCertsAsync(assertion, pems, APP_AUDIENCE, [`${gh.url}/iap`]);
    expect(ticket.getPayload()?.email).toBe(ALICE);
    await expect(client.verifySignedJwtWithCertsAsync(forged, pems, APP_AUDIENCE, [`${gh.url}/iap`])).rejects.toThrow(/issuer/i);
    // The reverse: an assertion leaked from a backend's logs opens nothing.
    await h.expectDenied(h.viaProxy("/public", bearer(assertion)), 401, "assertion as bearer at the proxy");
    const asToken = (await h.decide({ token: assertion, resource: APP_RESOURCE }, h.proxyKey())).json<Answer>();
    expect(asToken).toMatchObject({ allowed: false, reason: "UNAUTHENTICATED" });
    expect(asToken.tokenError).toMatch(/not_a_credential/);
  });

  // ── 4. disabled principals ─────────────────────────────────────────────────────────────────
  it("a disabled user is denied everywhere, with its own reason: token through the proxy, trusted assertion, application session", async () => {
    await h.expectDenied(h.viaProxy("/public", bearer(await h.issuer().mint(FRANK))), 403, "frank (disabled) with a token");
    const asserted = (await h.decide({ principal: `user:${FRANK}`, resource: APP_RESOURCE, request: { host: APP_HOST, path: "/public" } })).json<Answer>();
    expect(asserted).toMatchObject({ allowed: false, reason: "PRINCIPAL_DISABLED" });
    expect(asserted.headers).toBeUndefined();
    const direct = await forwardAuth(h, bearer(await h.issuer().mint(FRANK)));
    expect(direct.status).toBe(403);
    expect(direct.headers["x-gatehouse-reason"]).toBe("PRINCIPAL_DISABLED");
  });

  // ── 5. region and client address come from the proxy, never the client ───────────────────
  it("client-sent region and address headers never satisfy an access level", async () => {
    const dave = await h.issuer().mint(DAVE); // may reach app from Germany (region access level)
    const erin = await h.issuer().mint(ERIN); // may reach app from 10.0.0.0/8 (IP access level)
    const regionSpoofs: Record<string, string>[] = [{ "cf-ipcountry": "DE" }, { "x-client-region": "DE" }, { "cf-ipcountry": "DE", "x-client-region": "DE" }];
    for (const spoof of regionSpoofs) {
      await h.expectDenied(h.viaProxy("/public", { ...bearer(dave), ...spoof }), 403, `dave with ${JSON.stringify(spoof)}`);
    }
    const addressSpoofs: Record<string, string>[] = [{ "x-forwarded-for": "10.1.2.3" }, { "x-real-ip": "10.1.2.3" }, { "x-forwarded-for": "10.1.2.3, 10.9.9.9" }];
    for (const spoof of addressSpoofs) {
      await h.expectDenied(h.viaProxy("/public", { ...bearer(erin), ...spoof }), 403, `erin with ${JSON.stringify(spoof)}`);
    }
    // The levels themselves work when the proxy reports them: a credential that declares its
    // region header, and the client address as the proxy's own hop (the rightmost entry).
    const geo = lastWord(await h.gatehouse().cli("proxy-key", "create", "--name", `${kind}-geo`, "--region-header", "x-client-region"));
    expect((await forwardAuth(h, { ...bearer(dave), "x-client-region": "DE" }, geo)).status).toBe(200);
    expect((await forwardAuth(h, { ...bearer(dave), "x-client-region": "DE" })).status, "a credential without a region header reads none").toBe(403);
    expect((await forwardAuth(h, { ...bearer(erin), "x-forwarded-for": "203.0.113.9, 10.1.2.3" })).status).toBe(200);
    expect((await forwardAuth(h, { ...bearer(erin), "x-forwarded-for": "10.1.2.3, 203.0.113.9" })).status).toBe(403);
    // The JSON API takes request.regionCode only from a credential that declares a region source.
    const refused = await h.decide({ token: dave, resource: APP_RESOURCE, request: { regionCode: "DE" } }, h.proxyKey());
    expect(refused.status, refused.body).toBe(403);
    const ok = (await h.decide({ token: dave, resource: APP_RESOURCE, request: { regionCode: "DE" } }, geo)).json<Answer>();
    expect(ok).toMatchObject({ allowed: true });
  });

  // ── 6. per-application sessions; consumed credentials stay with Gatehouse ──────────────────
  it("a browser gets a session for this application only, through a one-time code; the console session and the app cookie never reach the application", async () => {
    const gh = h.gatehouse();
    // 1. No identity: the proxy sends the browser to Gatehouse's start URL.
    const first = await h.expectDenied(h.viaProxy("/docs?page=1", { accept: "text/html" }), 302, "browser without identity");
    const start = new URL(String(first.headers.location));
    expect(start.origin + start.pathname).toBe(`${gh.url}/api/v1/app-session/start`);
    // 2. Without a console session, start sends it to sign in (and back to start).
    const noSession = await rawRequest({ port: gh.port, path: start.pathname + start.search });
    expect(noSession.status).toBe(302);
    expect(String(noSession.headers.location)).toMatch(new RegExp(`^${gh.url.replace(/[.]/g, "\\.")}/signin\\?callbackUrl=%2Fapi%2Fv1%2Fapp-session%2Fstart`));
    // With one, it hands out a one-time code for the application's host.
    const consoleSession = await consoleCookie(h, ALICE);
    const withSession = await rawRequest({ port: gh.port, path: start.pathname + start.search, headers: { cookie: consoleSession } });
    expect(withSession.status).toBe(302);
    const callback = new URL(String(withSession.headers.location));
    expect(callback.hostname).toBe(APP_HOST);
    expect(callback.pathname).toBe("/_gatehouse/callback");
    // 3. The proxy routes the callback to Gatehouse, which sets this host's cookie.
    const [redeemed, seenRedeem] = await h.reaching(() => h.viaProxy(callback.pathname + callback.search));
    expect(seenRedeem, "the callback is Gatehouse's, not the application's").toEqual([]);
    expect(redeemed.status, redeemed.body).toBe(302);
    expect(redeemed.headers.location).toBe("/docs?page=1");
    const setCookie = String(redeemed.headers["set-cookie"]);
    expect(setCookie).toMatch(/^gatehouse-app=[^;]+; Path=\/; Max-Age=\d+; HttpOnly; SameSite=Lax/);
    expect(setCookie).not.toMatch(/Domain=/i);
    const appCookie = setCookie.split(";")[0]!;
    // Once only.
    const again = await h.viaProxy(callback.pathname + callback.search);
    expect(again.status).toBe(400);
    // 4. The cookie is an identity on this host; the application never sees it (nor the console's).
    const seen = await h.expectAllowedAs(h.viaProxy("/docs?page=1", { cookie: `theme=dark; ${appCookie}; lang=en` }), ALICE, "alice with the app cookie");
    expect(seen.cookie ?? "").not.toContain(appCookie.split("=")[1]!);
    expect(seen.cookie ?? "").toContain("theme=dark");
    expect(seen.cookie ?? "").toContain("lang=en");
    // The console's session cookie is no identity at an application.
    await h.expectDenied(h.viaProxy("/public", { cookie: consoleSession }), 401, "console cookie at the app");
    // The app cookie replayed on another host (an operator of app replaying it at wiki) is refused.
    expect((await forwardAuth(h, { cookie: appCookie, host: WIKI_HOST, "x-forwarded-host": WIKI_HOST })).status).toBe(401);
    // A code cannot be redeemed for another host either.
    const other = await rawRequest({ port: gh.port, path: start.pathname + start.search, headers: { cookie: consoleSession } });
    const otherCode = new URL(String(other.headers.location));
    const wrongHost = await rawRequest({
      port: gh.port,
      path: `/api/v1/app-session/callback${otherCode.search}`,
      headers: { "x-gatehouse-proxy-key": h.proxyKey(), "x-forwarded-host": WIKI_HOST },
    });
    expect(wrongHost.status).toBe(400);
    // …nor without a proxy credential, nor to an unknown application.
    expect((await rawRequest({ port: gh.port, path: `/api/v1/app-session/callback${otherCode.search}`, headers: { host: APP_HOST } })).status).toBe(401);
    const unknown = await rawRequest({ port: gh.port, path: `/api/v1/app-session/start?rd=${encodeURIComponent("https://evil.example.net/")}`, headers: { cookie: consoleSession } });
    expect(unknown.status).toBe(400);
  });

  it("an application session only for a console session that still stands, after any one-time password is replaced", async () => {
    const gh = h.gatehouse();
    const start = `/api/v1/app-session/start?rd=${encodeURIComponent(`http://${APP_HOST}/public`)}`;
    // A disabled user's console session gives nothing (back to sign-in, which refuses it).
    const frank = await rawRequest({ port: gh.port, path: start, headers: { cookie: await consoleCookie(h, FRANK) } });
    expect(frank.status).toBe(302);
    expect(String(frank.headers.location)).toMatch(/\/signin\?callbackUrl=/);
    // A session from before a password reset neither.
    const grace = await consoleCookie(h, GRACE);
    await h.prisma().user.update({ where: { email: GRACE }, data: { sessionsValidAfter: new Date(Date.now() + 1000) } });
    expect(String((await rawRequest({ port: gh.port, path: start, headers: { cookie: grace } })).headers.location)).toMatch(/\/signin\?callbackUrl=/);
    // A password sign-in with a one-time password chooses a new one first.
    await h.prisma().user.upsert({ where: { email: ERIN }, create: { email: ERIN, passwordMustChange: true }, update: { passwordMustChange: true } });
    const erin = await rawRequest({ port: gh.port, path: start, headers: { cookie: await consoleCookie(h, ERIN, "credentials") } });
    expect(String(erin.headers.location)).toMatch(/\/signin\/new-password\?callbackUrl=%2Fapi%2Fv1%2Fapp-session%2Fstart/);
  });

  it("a bearer token Gatehouse consumed is not forwarded; the application's own Authorization is", async () => {
    const viaAuthz = await h.expectAllowedAs(h.viaProxy("/public", bearer(h.token(ALICE))), ALICE, "token in Authorization");
    expect(viaAuthz.authorization).toBeUndefined();
    const viaProxyAuthz = await h.expectAllowedAs(
      h.viaProxy("/public", { "proxy-authorization": `Bearer ${h.token(ALICE)}`, authorization: "Basic YXBwOnNlY3JldA==" }),
      ALICE,
      "token in Proxy-Authorization",
    );
    expect(viaProxyAuthz.proxyAuthorization).toBeUndefined();
    expect(viaProxyAuthz.authorization).toBe("Basic YXBwOnNlY3JldA==");
  });

  it("Gatehouse's own tokens are bound to the resource they were minted for", async () => {
    const gh = h.gatehouse();
    const forWiki = lastWord(await gh.cli("token", "--principal", `user:${ALICE}`, "--audience", WIKI_RESOURCE));
    const forApp = lastWord(await gh.cli("token", "--principal", `user:${ALICE}`, "--audience", APP_AUDIENCE));
    const forIssuer = lastWord(await gh.cli("token", "--principal", `user:${ALICE}`));
    await h.expectAllowedAs(h.viaProxy("/public", bearer(forApp)), ALICE, "own token for app");
    await h.expectDenied(h.viaProxy("/public", bearer(forWiki)), 401, "own token minted for wiki");
    await h.expectDenied(h.viaProxy("/public", bearer(forIssuer)), 401, "own token minted for Gatehouse itself");
  });

  // ── 7. unverified emails and foreign domains from trusted issuers ─────────────────────────
  it("a trusted issuer's token needs email_verified and one of the issuer's domains; it never names a service account", async () => {
    const iss = h.issuer();
    await h.expectDenied(h.viaProxy("/public", bearer(await iss.mint(ALICE, { claims: { email_verified: undefined } }))), 401, "no email_verified");
    await h.expectDenied(h.viaProxy("/public", bearer(await iss.mint(ALICE, { claims: { email_verified: false } }))), 401, "email_verified false");
    await h.expectDenied(h.viaProxy("/public", bearer(await iss.mint("alice@example.org"))), 401, "a domain the issuer may not assert");
    const sa = await h.decide({ token: await iss.mint(BATCH_SA), resource: APP_RESOURCE }, h.proxyKey());
    expect(sa.json<Answer>()).toMatchObject({ allowed: false, reason: "UNAUTHENTICATED" });
    expect(sa.json<Answer>().tokenError).toMatch(/domain_not_allowed/);
  });

  // ── 8. the smaller ones ───────────────────────────────────────────────────────────────────
  it("method overrides are ignored for decisions and never reach the application", async () => {
    const grace = h.token(GRACE); // may reach app with GET only (request.method == 'GET')
    await h.expectAllowedAs(h.viaProxy("/public", bearer(grace)), GRACE, "grace GET");
    await h.expectDenied(h.viaProxy("/public", { ...bearer(grace), "x-http-method-override": "GET" }, "POST"), 403, "grace POST claiming GET");
    const seen = await h.expectAllowedAs(h.viaProxy("/public", { ...bearer(grace), "x-http-method-override": "DELETE" }), GRACE, "grace GET with an override header");
    expect(seen.methodOverride, "the override header must not reach the application").toBeUndefined();
    await h.expectDenied(h.viaProxy("/public?_method=DELETE", bearer(grace)), 400, "_method in the query");
  });

  it("malformed credentials and request URIs are 400/401, never 503", async () => {
    for (const cookie of ["gatehouse-app=%E0%A4%A", "authjs.session-token=%", "gatehouse-app=a.b.c.d.e", "__Host-gatehouse-app=%%%"]) {
      const r = await forwardAuth(h, { cookie });
      expect(r.status, cookie).toBe(401);
    }
    for (const uri of ["http://[", "/public#frag", "relative/path"]) {
      const r = await forwardAuth(h, { ...bearer(h.token(ALICE)), "x-original-uri": uri });
      expect(r.status, uri).toBe(400);
    }
    const hash = await h.decide({ principal: `user:${ALICE}`, resource: APP_RESOURCE, request: { path: "/public#x" } });
    expect(hash.status).toBe(400);
  });

  it("explain, grantedBy and deniedBy are for trusted credentials; what-if times never yield headers", async () => {
    const untrusted = (await h.decide({ token: h.token(ALICE), resource: APP_RESOURCE, request: { path: "/public" } }, h.proxyKey())).json<Answer>();
    expect(untrusted).toMatchObject({ allowed: true });
    expect(untrusted.grantedBy).toBeUndefined();
    const explain = await h.decide({ token: h.token(ALICE), resource: APP_RESOURCE, explain: true }, h.proxyKey());
    expect(explain.status).toBe(403);
    const trusted = (await h.decide({ principal: `user:${ALICE}`, resource: APP_RESOURCE, request: { path: "/public" } })).json<Answer>();
    expect(trusted.grantedBy).toBeDefined();
    expect(trusted.headers).toBeDefined();
    const whatIf = (await h.decide({ principal: `user:${ALICE}`, resource: APP_RESOURCE, request: { path: "/public", time: "2030-01-01T00:00:00Z" } })).json<Answer>();
    expect(whatIf).toMatchObject({ allowed: true });
    expect(whatIf.headers, "a what-if answer carries no identity headers").toBeUndefined();
  });

  it("the `sub` of an identity is the same whichever issuer, session or proxy identified it", async () => {
    const subOf = async (body: object, key?: string) => {
      const a = (await h.decide(body, key)).json<Answer>();
      expect(a.allowed, JSON.stringify(a)).toBe(true);
      return decodeJwt(a.headers!["x-goog-iap-jwt-assertion"]!).sub;
    };
    // A stored user (its Principal id) and one Gatehouse knows only by email (zoe, through
    // domain:example.com): the external issuer's own `sub` must not leak into the assertion.
    for (const [email, resource, audience] of [
      [ALICE, APP_RESOURCE, APP_AUDIENCE],
      [ZOE, WIKI_RESOURCE, "/projects/100200300/global/backendServices/wiki"],
    ] as const) {
      const req = { resource, request: { path: "/public" } };
      const viaExternal = await subOf({ ...req, token: await h.issuer().mint(email) }, h.proxyKey());
      const viaOwn = await subOf({ ...req, token: lastWord(await h.gatehouse().cli("token", "--principal", `user:${email}`, "--audience", audience)) }, h.proxyKey());
      const viaAssertion = await subOf({ ...req, principal: `user:${email}` });
      expect(viaExternal, email).toBe(viaAssertion);
      expect(viaOwn, email).toBe(viaAssertion);
    }
  });
}
