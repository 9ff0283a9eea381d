// The paths answered by node:http directly (DESIGN.md §6): the JSON decision API, its batch form,
// forward-auth for nginx / Traefik / Caddy / Envoy, the application-session exchange, the JWKS and
// OpenID configuration, the token endpoint, health, and the admin API (lib/admin/http.ts).
// Everything else — the console — goes to Next.js.
//
// What forward-auth believes about the original request comes from its proxy (authenticated by
// its credential), never from the client: the shipped configs overwrite every header read here.
// The client address is the RIGHTMOST X-Forwarded-For entry (the hop the proxy itself added —
// nginx's config sets it to $remote_addr, Caddy, Envoy, Traefik and HAProxy append the peer),
// else the socket's peer; the region only from the header the credential declares (regionHeader).
import { isIP } from "node:net";
import type { IncomingMessage, ServerResponse } from "node:http";
import { parse as parseCookies } from "cookie";
import { AppError, toErrorBody } from "@/lib/errors";
import type { DecisionLog } from "@/lib/audit/decisions";
import { iapHeadersJson } from "@/lib/identity/assertion";
import { JWKS_CACHE_CONTROL, type KeyRing } from "@/lib/identity/keys";
import { openidConfiguration } from "@/lib/identity/openid";
import { handleTokenRequest } from "@/lib/identity/token-endpoint";
import type { TokenVerifier } from "@/lib/identity/verify";
import type { PrismaClient } from "@/lib/generated/prisma/client";
import { resolveHost } from "@/lib/policy";
import { mayTroubleshoot, troubleshooterHref } from "@/lib/console/troubleshooter";
import { ADMIN_ROUTES, adminRoute, handleAdminApi } from "@/lib/admin/http";
import { openApiDocument } from "@/lib/admin/openapi";
import { bearer, header, parseJson, readBody, remoteIp, send, sendJson } from "@/lib/server/http-io";
import { NEW_PASSWORD_PATH } from "@/lib/auth/request-path";
import { sessionStanding } from "@/lib/auth/users";
import { readConsoleSession } from "@/lib/auth/console-cookie";
import {
  APP_CALLBACK_PATH,
  APP_SESSION_CALLBACK_PATH,
  APP_SESSION_COOKIE,
  APP_SESSION_COOKIE_SECURE,
  APP_SESSION_START_PATH,
  appSessionCookie,
  safeAppPath,
  type AppSessions,
} from "./app-session";
import {
  decide,
  MIN_REVISION_WAIT_MS,
  recordRefusal,
  ZBatchRequest,
  ZDecisionRequest,
  type Caller,
  type CheckInput,
  type DecideContext,
  type DecisionResponse,
  type RefusedCall,
} from "./decide";
import { auditMetrics } from "./metrics";
import type { PolicyEngine } from "./engine";
import type { ProxyCredentials } from "./proxies";

export interface HotPathContext extends DecideContext {
  prisma: PrismaClient;
  proxies: ProxyCredentials;
  publicUrl: string;
  authSecret: string;
  engine: PolicyEngine;
  ring: KeyRing;
  verifier: TokenVerifier;
  log: DecisionLog;
  appSessions: AppSessions;
}

const FORWARD_AUTH_PATH = "/api/v1/forward-auth";
const MAX_BODY = 64 * 1024;
const MAX_BATCH_BODY = 2 * 1024 * 1024;
/** A decision as JSON; the signed headers' JSON is reused from the assertion cache. */
function decisionJson(d: DecisionResponse): string {
  if (!d.headers) return JSON.stringify(d);
  const { headers, ...rest } = d;
  return `${JSON.stringify(rest).slice(0, -1)},"headers":${iapHeadersJson(headers)}}`;
}

function sendError(res: ServerResponse, err: unknown, allow: string): void {
  const { status, body } = toErrorBody(err);
  if (status === 500) console.error(err);
  // A body over the limit is not read to its end.
  send(res, status, body, status === 405 ? { allow } : status === 413 ? { connection: "close" } : {});
}

function authenticateProxy(ctx: HotPathContext, secret: string | undefined): Caller {
  if (!secret) throw new AppError("UNAUTHENTICATED", "a proxy credential is required");
  const proxy = ctx.proxies.authenticate(secret);
  if (!proxy) throw new AppError("UNAUTHENTICATED", "unknown or revoked proxy credential");
  return { proxy };
}

function zodDetails(e: import("zod").ZodError) {
  return e.issues.map((i) => ({ path: i.path.join("."), message: i.message }));
}

function toCheck(raw: unknown): CheckInput {
  const r = ZDecisionRequest.safeParse(raw);
  if (!r.success) throw new AppError("INVALID_ARGUMENT", "invalid decision request", zodDetails(r.error));
  return r.data;
}

/**
 * Runs a decision endpoint so that every call leaves exactly one data-access record: a decision
 * records itself (decide), a refusal is recorded here with what was established by then (`call`,
 * filled in by the handler as it goes) and its decisionId goes out in X-Gatehouse-Decision-Id.
 * While the audit log cannot be written, nothing is answered (503): never a decision unrecorded.
 */
async function recorded(
  ctx: HotPathContext,
  req: IncomingMessage,
  res: ServerResponse,
  handler: (ctx: HotPathContext, req: IncomingMessage, res: ServerResponse, call: RefusedCall) => Promise<void>,
): Promise<void> {
  if (!ctx.log.accepting()) throw new AppError("UNAVAILABLE", "the audit log cannot be written; decisions resume when it can");
  const peer = remoteIp(req);
  const call: RefusedCall = peer && isIP(peer) ? { ip: peer } : {};
  try {
    await handler(ctx, req, res, call);
  } catch (e) {
    if (!res.headersSent) res.setHeader("x-gatehouse-decision-id", recordRefusal(ctx, call, e));
    throw e;
  }
}

async function handleDecisions(ctx: HotPathContext, req: IncomingMessage, res: ServerResponse, call: RefusedCall): Promise<void> {
  if (req.method !== "POST") throw new AppError("METHOD_NOT_ALLOWED", "use POST");
  call.caller = authenticateProxy(ctx, bearer(req.headers.authorization));
  call.check = toCheck(parseJson(await readBody(req, MAX_BODY)));
  sendJson(res, 200, decisionJson(await decide(ctx, call.caller, call.check)));
}

async function handleBatch(ctx: HotPathContext, req: IncomingMessage, res: ServerResponse, call: RefusedCall): Promise<void> {
  if (req.method !== "POST") throw new AppError("METHOD_NOT_ALLOWED", "use POST");
  const caller = authenticateProxy(ctx, bearer(req.headers.authorization));
  call.caller = caller;
  const parsed = ZBatchRequest.safeParse(parseJson(await readBody(req, MAX_BATCH_BODY)));
  if (!parsed.success) throw new AppError("INVALID_ARGUMENT", "a batch is { checks: [ 1 to 100 decision requests ] }", zodDetails(parsed.error));
  // Each check is answered on its own: a malformed one gets its own { error }, in its position.
  const checks = parsed.data.checks.map((raw): { check: CheckInput } | { error: unknown } => {
    try {
      return { check: toCheck(raw) };
    } catch (error) {
      return { error };
    }
  });
  // Read-your-writes for the whole batch: one bounded wait for the highest revision asked for,
  // not one per check; a check whose revision is still not there fails closed on its own.
  let highest = -1n;
  for (const c of checks) if ("check" in c && c.check.minRevision !== undefined && BigInt(c.check.minRevision) > highest) highest = BigInt(c.check.minRevision);
  if (highest >= 0n) await ctx.engine.waitFor(highest, MIN_REVISION_WAIT_MS);
  const results: string[] = [];
  for (const c of checks) {
    try {
      if ("error" in c) throw c.error;
      results.push(decisionJson(await decide(ctx, caller, c.check, { revisionWaitMs: 0 })));
    } catch (e) {
      // A refused check is recorded on its own, like a refused call.
      recordRefusal(ctx, { ...call, ...("check" in c ? { check: c.check } : {}) }, e);
      results.push(JSON.stringify(toErrorBody(e).body));
    }
  }
  sendJson(res, 200, `{"results":[${results.join(",")}]}`);
}

function cookies(req: IncomingMessage): Record<string, string | undefined> {
  const raw = header(req, "cookie");
  // cookie.parse never throws: a malformed %-escape is kept as it is (and then fails to verify).
  return raw ? parseCookies(raw) : {};
}

/**
 * The forward-auth identity: Proxy-Authorization, then Authorization (bearer tokens, as IAP
 * accepts them), then this application's own session cookie. Never the console's session.
 */
async function forwardIdentity(ctx: HotPathContext, req: IncomingMessage, host: string): Promise<{ token?: string; sessionEmail?: string }> {
  const token = bearer(req.headers["proxy-authorization"]) ?? bearer(req.headers.authorization);
  if (token) return { token };
  const jar = cookies(req);
  for (const name of [APP_SESSION_COOKIE_SECURE, APP_SESSION_COOKIE]) {
    const value = jar[name];
    if (!value) continue;
    const session = await ctx.appSessions.open(value, host);
    if (session) return { sessionEmail: session.email };
  }
  return {};
}

function startUrl(ctx: HotPathContext, original: string): string {
  return `${ctx.publicUrl}${APP_SESSION_START_PATH}?rd=${encodeURIComponent(original)}`;
}

/**
 * The client's address as the proxy saw it: the rightmost X-Forwarded-For entry (the hop the
 * proxy added; anything left of it came from the client), else the socket's peer.
 */
function clientIp(req: IncomingMessage): string | undefined {
  const xff = header(req, "x-forwarded-for");
  if (xff) {
    const last = xff.slice(xff.lastIndexOf(",") + 1).trim();
    return isIP(last) ? last : undefined;
  }
  const peer = remoteIp(req);
  return peer && isIP(peer) ? peer : undefined;
}

/**
 * The original request's URI as the proxy reported it: origin form ("/path?query"), or an
 * absolute http(s) URL (reduced to its path and query). Anything else is a 400: a fragment never
 * travels in a request line, and an unparseable URI cannot be decided on.
 */
function originalUri(uri: string): string {
  if (uri.length > 8192) throw new AppError("INVALID_ARGUMENT", "the original request URI is too long");
  if (uri.includes("#")) throw new AppError("INVALID_ARGUMENT", "the original request URI has a fragment (#)");
  if (/^https?:\/\//i.test(uri)) {
    try {
      const u = new URL(uri);
      return u.pathname + u.search;
    } catch {
      throw new AppError("INVALID_ARGUMENT", "the original request URI is not a valid URL");
    }
  }
  if (!uri.startsWith("/")) throw new AppError("INVALID_ARGUMENT", "the original request URI must start with /");
  return uri;
}

async function handleForwardAuth(ctx: HotPathContext, req: IncomingMessage, res: ServerResponse, call: RefusedCall): Promise<void> {
  const caller = authenticateProxy(ctx, header(req, "x-gatehouse-proxy-key"));
  call.caller = caller;
  // The original request: nginx auth_request (X-Original-*), Traefik/Caddy (X-Forwarded-*),
  // Envoy ext_authz (the check request carries the original method and path). Method-override
  // headers and parameters (X-HTTP-Method-Override, _method) are never read: the method decided
  // on is the one on the request line.
  const method = header(req, "x-original-method") ?? header(req, "x-forwarded-method") ?? (req.method === "HEAD" ? "GET" : req.method) ?? "GET";
  // Envoy's ext_authz HTTP service appends the original path to the check path instead.
  const suffix = (req.url ?? "").startsWith(`${FORWARD_AUTH_PATH}/`) ? (req.url ?? "").slice(FORWARD_AUTH_PATH.length) : "/";
  const uri = originalUri(header(req, "x-original-uri") ?? header(req, "x-forwarded-uri") ?? suffix);
  const host = (header(req, "x-forwarded-host") ?? header(req, "host") ?? "").split(",")[0]!.trim();
  const proto = header(req, "x-forwarded-proto") ?? "https";
  const ip = clientIp(req);
  if (ip) call.ip = ip;
  // The client's country for region access levels, only from the header this proxy declared.
  const region = caller.proxy.regionHeader ? header(req, caller.proxy.regionHeader)?.trim().toUpperCase() : undefined;
  const path = uri.split("?")[0] ?? "/";

  const request: CheckInput["request"] = { method, host, path, ...(ip ? { ip } : {}), ...(region && /^[A-Z]{2}$/.test(region) ? { regionCode: region } : {}) };
  call.check = { request };
  const id = await forwardIdentity(ctx, req, host);
  const check: CheckInput = { request, ...id };
  call.check = check;
  const d = await decide(ctx, caller, check);

  const common = { "x-gatehouse-decision-id": d.decisionId, "x-gatehouse-reason": d.reason, "cache-control": "no-store" };
  if (d.allowed) {
    endEmpty(res, 200, { ...common, ...(d.headers ?? {}) });
    return;
  }
  if (d.reason === "UNAUTHENTICATED") {
    // Where to return after sign-in; the port comes from X-Forwarded-Port when Host lacks it.
    const port = header(req, "x-forwarded-port");
    const defaultPort = proto === "https" ? "443" : "80";
    const authority = !host.includes(":") && port && /^\d{1,5}$/.test(port) && port !== defaultPort ? `${host}:${port}` : host;
    const signin = startUrl(ctx, `${proto === "http" ? "http" : "https"}://${authority}${uri}`);
    const headers = {
      ...common,
      "www-authenticate": `Bearer realm="gatehouse"${d.tokenError ? `, error="invalid_token"` : ""}`,
      "x-gatehouse-signin-url": signin,
      location: signin,
    };
    if (wantsPage(req)) endPage(res, 401, headers, "Sign in required", `<a href="${escapeHtml(signin)}">Sign in</a> to continue.`);
    else endEmpty(res, 401, headers);
    return;
  }
  // Only someone who may troubleshoot the resource (its getIamPolicy, lib/console/troubleshooter.ts)
  // is shown why and linked to the troubleshooter with this request filled in; anyone else sees
  // that access was denied and the decision id to quote to an administrator.
  const admin = d.principal !== null && mayTroubleshoot(ctx.engine.current().snapshot, d.principal, d.resource, new Date());
  if (admin) {
    const troubleshoot = ctx.publicUrl + troubleshooterHref({ principal: d.principal ?? "", resource: d.resource, permission: d.permission, method, host, path, ip: ip ?? "", region: check.request?.regionCode ?? "" });
    const headers = { ...common, "x-gatehouse-troubleshoot-url": troubleshoot };
    if (wantsPage(req)) endPage(res, 403, headers, "Access denied", `Reason: ${escapeHtml(d.reason)}. Decision ${escapeHtml(d.decisionId)}. <a href="${escapeHtml(troubleshoot)}">Troubleshoot this request</a>.`);
    else endEmpty(res, 403, headers);
    return;
  }
  if (wantsPage(req)) endPage(res, 403, common, "Access denied", `You do not have access to this page. If you should, ask your administrator, quoting decision ${escapeHtml(d.decisionId)}.`);
  else endEmpty(res, 403, common);
}

const REDIRECT_HEADERS = { "cache-control": "no-store", "referrer-policy": "no-referrer" } as const;

function redirect(res: ServerResponse, location: string, extra: Record<string, string> = {}): void {
  res.writeHead(302, { ...REDIRECT_HEADERS, ...extra, location, "content-length": "0" });
  res.end();
}

/**
 * GET {GATEHOUSE_PUBLIC_URL}/api/v1/app-session/start?rd=URL (app-session.ts, step 2): with a
 * console session, hands the browser a one-time code for the application at `rd`; without one,
 * sends it to sign in first. Only hosts mapped to a resource are ever redirected to.
 */
async function handleAppSessionStart(ctx: HotPathContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method !== "GET" && req.method !== "HEAD") throw new AppError("METHOD_NOT_ALLOWED", "use GET");
  const rd = new URL(req.url ?? "/", "http://gatehouse.invalid").searchParams.get("rd") ?? "";
  let target: URL;
  try {
    target = new URL(rd);
  } catch {
    throw new AppError("INVALID_ARGUMENT", "rd must be the URL of an application Gatehouse protects");
  }
  const { snapshot } = ctx.engine.current();
  if ((target.protocol !== "https:" && target.protocol !== "http:") || target.username || target.password || !resolveHost(snapshot, target.hostname, target.pathname).ok) {
    throw new AppError("INVALID_ARGUMENT", "rd must be the URL of an application Gatehouse protects");
  }
  const back = encodeURIComponent(`${APP_SESSION_START_PATH}?rd=${encodeURIComponent(target.toString())}`);
  const session = await readConsoleSession(header(req, "cookie"), ctx.authSecret);
  // The console session must still stand, exactly as for a console page (lib/auth/session.ts):
  // not disabled, not deleted, not from before a password reset — and a one-time password is
  // replaced before anything else, including an application.
  const standing = session ? await sessionStanding(ctx.prisma, session.email, session.authAt) : null;
  if (!session || !standing?.ok) {
    redirect(res, `${ctx.publicUrl}/signin?callbackUrl=${back}`);
    return;
  }
  if (standing.passwordMustChange && session.via === "credentials") {
    redirect(res, `${ctx.publicUrl}${NEW_PASSWORD_PATH}?callbackUrl=${back}`);
    return;
  }
  const code = await ctx.appSessions.issueCode({ email: session.email, host: target.hostname, sessionExpiresAt: session.expiresAt });
  redirect(res, `${target.origin}${APP_CALLBACK_PATH}?code=${code}&rd=${encodeURIComponent(target.pathname + target.search)}`);
}

/**
 * GET /api/v1/app-session/callback?code=…&rd=PATH, called by an application's proxy for
 * {app}/_gatehouse/callback (app-session.ts, step 3). Redeems the code on the proxy's host and
 * sets that host's session cookie.
 */
async function handleAppSessionCallback(ctx: HotPathContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const caller = authenticateProxy(ctx, header(req, "x-gatehouse-proxy-key"));
  if (req.method !== "GET" && req.method !== "HEAD") throw new AppError("METHOD_NOT_ALLOWED", "use GET");
  const params = new URL(req.url ?? "/", "http://gatehouse.invalid").searchParams;
  const back = safeAppPath(params.get("rd"));
  const host = (header(req, "x-forwarded-host") ?? header(req, "host") ?? "").split(",")[0]!.trim();
  const { snapshot } = ctx.engine.current();
  const mapped = resolveHost(snapshot, host, back.split("?")[0]);
  const node = mapped.ok ? snapshot.nodes.get(mapped.resource) : undefined;
  if (!node || (caller.proxy.scopes.length > 0 && !caller.proxy.scopes.some((s) => node.chain.includes(s)))) {
    throw new AppError("PERMISSION_DENIED", "this proxy credential may not sign browsers in to this host");
  }
  const session = await ctx.appSessions.redeemCode(params.get("code") ?? "", host);
  if (!session) {
    endPage(res, 400, { ...REDIRECT_HEADERS }, "Sign-in link expired", `This sign-in link has expired or was already used. <a href="${escapeHtml(back)}">Try again</a>.`);
    return;
  }
  const secure = (header(req, "x-forwarded-proto") ?? "https") !== "http";
  const value = await ctx.appSessions.seal(host, session);
  redirect(res, back, { "set-cookie": appSessionCookie(value, session, secure) });
}

// Forward-auth answers carry no body (Content-Length: 0) unless a browser asked for a page:
// nginx keeps an auth_request upstream connection alive only when the answer has an empty
// body of known length — a body, or chunked encoding, costs a new connection per request.
// Proxies that pass denials through to the client (Caddy, Traefik, Envoy) show the page.
function endEmpty(res: ServerResponse, status: number, headers: Record<string, string>): void {
  res.writeHead(status, { ...headers, "content-length": "0" });
  res.end();
}

function wantsPage(req: IncomingMessage): boolean {
  return /\btext\/html\b/i.test(header(req, "accept") ?? "");
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function endPage(res: ServerResponse, status: number, headers: Record<string, string>, title: string, html: string): void {
  const body = `<!doctype html><meta charset="utf-8"><title>${title}</title><h1>${title}</h1><p>${html}</p>\n`;
  res.writeHead(status, { ...headers, "content-type": "text/html; charset=utf-8", "content-length": String(Buffer.byteLength(body)) });
  res.end(body);
}

let openApiJson: string | undefined;

/**
 * Answers the request if it is a hot path; returns false to hand it to Next.js.
 * Every error is mapped to { error: { code, message } }; nothing internal leaks.
 */
export function handleHotPath(ctx: HotPathContext, req: IncomingMessage, res: ServerResponse): boolean {
  const url = req.url ?? "/";
  const q = url.indexOf("?");
  const path = q === -1 ? url : url.slice(0, q);
  let handler: ((ctx: HotPathContext, req: IncomingMessage, res: ServerResponse) => Promise<void> | void) | null = null;
  let allow = "POST";
  switch (path.startsWith(`${FORWARD_AUTH_PATH}/`) ? FORWARD_AUTH_PATH : path) {
    case "/api/v1/decisions":
      handler = (c, rq, rs) => recorded(c, rq, rs, handleDecisions);
      break;
    case "/api/v1/decisions:batch":
      handler = (c, rq, rs) => recorded(c, rq, rs, handleBatch);
      break;
    case FORWARD_AUTH_PATH:
      handler = (c, rq, rs) =>
        recorded(c, rq, rs, handleForwardAuth).catch((e: unknown) => {
          // Forward-auth answers 401/403/503 as plain statuses proxies understand.
          const { status, body } = toErrorBody(e);
          if (status === 500) console.error(e);
          if (rs.headersSent) rs.destroy();
          else send(rs, status === 500 ? 503 : status, body);
        });
      break;
    case "/.well-known/jwks.json":
      handler = (c, _rq, rs) => {
        rs.writeHead(200, { "content-type": "application/json; charset=utf-8", "cache-control": JWKS_CACHE_CONTROL });
        rs.end(c.ring.jwksJson());
      };
      break;
    case "/.well-known/openid-configuration":
      handler = (c, _rq, rs) => send(rs, 200, openidConfiguration(c.publicUrl), { "cache-control": "public, max-age=3600" });
      break;
    case APP_SESSION_START_PATH:
      handler = handleAppSessionStart;
      allow = "GET, HEAD";
      break;
    case APP_SESSION_CALLBACK_PATH:
      handler = handleAppSessionCallback;
      allow = "GET, HEAD";
      break;
    case "/api/v1/openapi.json":
      handler = (c, _rq, rs) => {
        openApiJson ??= JSON.stringify(openApiDocument(ADMIN_ROUTES, c.publicUrl));
        sendJson(rs, 200, openApiJson, { "cache-control": "public, max-age=300" });
      };
      allow = "GET";
      break;
    case "/api/v1/token":
      handler = async (c, rq, rs) => {
        if (rq.method !== "POST") throw new AppError("METHOD_NOT_ALLOWED", "use POST");
        const r = await handleTokenRequest({ db: c.prisma, ring: c.ring }, await readBody(rq, MAX_BODY), header(rq, "content-type"));
        rs.writeHead(r.status, r.headers);
        rs.end(JSON.stringify(r.body));
      };
      break;
    case "/healthz":
      handler = (c, rq, rs) => {
        const engine = c.engine.health();
        const { lastError, spoolFile: _spoolFile, ...audit } = c.log.getStats();
        // Decisions continue from the last snapshot while the database is away ("stale"), up to
        // the staleness bound; past it they fail closed and so does health ("unavailable"). They
        // also fail closed while the audit log can be written neither to PostgreSQL nor to the
        // spool ("audit_unavailable").
        const accepting = c.log.accepting();
        const status = !engine.fresh ? "unavailable" : !accepting ? "audit_unavailable" : engine.stale ? "stale" : "ok";
        // Error texts (database hosts, SQL) only for a caller holding a proxy credential.
        const key = header(rq, "x-gatehouse-proxy-key") ?? bearer(rq.headers.authorization);
        const detailed = key !== undefined && c.proxies.authenticate(key) !== null;
        const { error, ...engineSummary } = engine;
        send(rs, engine.fresh && accepting ? 200 : 503, {
          status,
          engine: detailed ? { ...engineSummary, error } : engineSummary,
          audit: detailed ? { ...audit, lastError } : audit,
        });
      };
      break;
    case "/metrics":
      // Prometheus text format: counts only (no error texts, hosts or principals), so no
      // credential is asked for; keep it off the public listener if even counts are sensitive.
      handler = async (c, rq, rs) => {
        if (rq.method !== "GET" && rq.method !== "HEAD") throw new AppError("METHOD_NOT_ALLOWED", "use GET");
        const metrics = auditMetrics(c);
        const text = await metrics.registry.metrics();
        rs.writeHead(200, { "content-type": metrics.registry.contentType, "cache-control": "no-store", "content-length": String(Buffer.byteLength(text)) });
        rs.end(rq.method === "HEAD" ? undefined : text);
      };
      allow = "GET, HEAD";
      break;
    default: {
      // The admin API (lib/admin/http.ts) has handlers of its own, with its own error shapes.
      const route = adminRoute(path);
      if (!route) return false;
      void handleAdminApi(ctx, route, req, res);
      return true;
    }
  }
  Promise.resolve()
    .then(() => handler!(ctx, req, res))
    .catch((e: unknown) => {
      if (!res.headersSent) sendError(res, e, allow);
      else res.destroy();
    });
  return true;
}
