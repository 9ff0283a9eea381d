// The hot paths, answered by node:http directly (DESIGN.md §6): the JSON decision API, its batch
// form, forward-auth for nginx / Traefik / Caddy / Envoy, the JWKS and OpenID configuration, the
// token endpoint and health. Everything else goes to Next.js.
import type { IncomingMessage, ServerResponse } from "node:http";
import { decode } from "next-auth/jwt";
import { AppError, toErrorBody } from "@/lib/errors";
import type { DecisionLog } from "@/lib/audit/decisions";
import { iapHeadersJson } from "@/lib/identity/assertion";
import { JWKS_CACHE_CONTROL, type KeyRing } from "@/lib/identity/keys";
import { openidConfiguration } from "@/lib/identity/openid";
import { handleTokenRequest } from "@/lib/identity/token-endpoint";
import type { TokenVerifier } from "@/lib/identity/verify";
import type { PrismaClient } from "@/lib/generated/prisma/client";
import { decide, ZBatchRequest, ZDecisionRequest, type Caller, type CheckInput, type DecideContext, type DecisionResponse } from "./decide";
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
}

const FORWARD_AUTH_PATH = "/api/v1/forward-auth";
const MAX_BODY = 64 * 1024;
const MAX_BATCH_BODY = 2 * 1024 * 1024;
const JSON_HEADERS = { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" } as const;

/** Auth.js session cookies (plain and __Secure- variants); the cookie name is the JWE salt. */
const SESSION_COOKIES = ["__Secure-authjs.session-token", "authjs.session-token"];

function sendJson(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { ...JSON_HEADERS, "content-length": Buffer.byteLength(text).toString(), ...headers });
  res.end(text);
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  sendJson(res, status, JSON.stringify(body), headers);
}

/** A decision as JSON; the signed headers' JSON is reused from the assertion cache. */
function decisionJson(d: DecisionResponse): string {
  if (!d.headers) return JSON.stringify(d);
  const { headers, ...rest } = d;
  return `${JSON.stringify(rest).slice(0, -1)},"headers":${iapHeadersJson(headers)}}`;
}

function sendError(res: ServerResponse, err: unknown): void {
  const { status, body } = toErrorBody(err);
  if (status === 500) console.error(err);
  // Every hot path that takes a body is POST; a body over the limit is not read to its end.
  send(res, status, body, status === 405 ? { allow: "POST" } : status === 413 ? { connection: "close" } : {});
}

function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        req.removeListener("data", onData);
        reject(new AppError("PAYLOAD_TOO_LARGE", `request body larger than ${limit} bytes`));
        return;
      }
      chunks.push(c);
    };
    req.on("data", onData);
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new AppError("INVALID_ARGUMENT", "the body is not valid JSON");
  }
}

function bearer(value: string | string[] | undefined): string | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  const m = v?.match(/^Bearer\s+(\S+)\s*$/i);
  return m?.[1];
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function remoteIp(req: IncomingMessage): string | undefined {
  const a = req.socket.remoteAddress;
  return a?.startsWith("::ffff:") ? a.slice(7) : a;
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

async function handleDecisions(ctx: HotPathContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method !== "POST") throw new AppError("METHOD_NOT_ALLOWED", "use POST");
  const caller = authenticateProxy(ctx, bearer(req.headers.authorization));
  const check = toCheck(parseJson(await readBody(req, MAX_BODY)));
  sendJson(res, 200, decisionJson(await decide(ctx, caller, check)));
}

async function handleBatch(ctx: HotPathContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method !== "POST") throw new AppError("METHOD_NOT_ALLOWED", "use POST");
  const caller = authenticateProxy(ctx, bearer(req.headers.authorization));
  const parsed = ZBatchRequest.safeParse(parseJson(await readBody(req, MAX_BATCH_BODY)));
  if (!parsed.success) throw new AppError("INVALID_ARGUMENT", "a batch is { checks: [ 1 to 100 decision requests ] }", zodDetails(parsed.error));
  // Each check is answered on its own: a malformed one gets its own { error }, in its position.
  const results: string[] = [];
  for (const raw of parsed.data.checks) {
    try {
      results.push(decisionJson(await decide(ctx, caller, toCheck(raw))));
    } catch (e) {
      results.push(JSON.stringify(toErrorBody(e).body));
    }
  }
  sendJson(res, 200, `{"results":[${results.join(",")}]}`);
}

/** Resolves the forward-auth identity: Proxy-Authorization, then Authorization, then the session cookie. */
async function forwardIdentity(ctx: HotPathContext, req: IncomingMessage): Promise<{ token?: string; principal?: string; sessionEmail?: string }> {
  const token = bearer(req.headers["proxy-authorization"]) ?? bearer(req.headers.authorization);
  if (token) return { token };
  const cookies = header(req, "cookie");
  if (!cookies) return {};
  for (const name of SESSION_COOKIES) {
    const m = cookies.match(new RegExp(`(?:^|;\\s*)${name.replace(/[.]/g, "\\.")}=([^;]+)`));
    if (!m?.[1]) continue;
    const payload = await sessionFromCookie(ctx, name, decodeURIComponent(m[1]));
    if (payload) return { sessionEmail: payload };
  }
  return {};
}

const sessionCache = new Map<string, { email: string; until: number }>();
async function sessionFromCookie(ctx: HotPathContext, name: string, value: string): Promise<string | null> {
  const hit = sessionCache.get(value);
  const now = Date.now();
  if (hit && hit.until > now) return hit.email;
  try {
    const jwt = await decode({ token: value, secret: ctx.authSecret, salt: name });
    const email = typeof jwt?.email === "string" ? jwt.email.toLowerCase() : null;
    const exp = typeof jwt?.exp === "number" ? jwt.exp * 1000 : 0;
    if (!email || exp <= now) return null;
    if (sessionCache.size > 10_000) sessionCache.clear();
    sessionCache.set(value, { email, until: Math.min(exp, now + 60_000) });
    return email;
  } catch {
    return null;
  }
}

function signInUrl(ctx: HotPathContext, original: string): string {
  return `${ctx.publicUrl}/signin?callbackUrl=${encodeURIComponent(original)}`;
}

async function handleForwardAuth(ctx: HotPathContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const caller = authenticateProxy(ctx, header(req, "x-gatehouse-proxy-key"));
  // The original request: nginx auth_request (X-Original-*), Traefik/Caddy (X-Forwarded-*),
  // Envoy ext_authz (the check request carries the original method and path).
  const method = header(req, "x-original-method") ?? header(req, "x-forwarded-method") ?? (req.method === "HEAD" ? "GET" : req.method) ?? "GET";
  // Envoy's ext_authz HTTP service appends the original path to the check path instead.
  const suffix = (req.url ?? "").startsWith(`${FORWARD_AUTH_PATH}/`) ? (req.url ?? "").slice(FORWARD_AUTH_PATH.length) : "/";
  let uri = header(req, "x-original-uri") ?? header(req, "x-forwarded-uri") ?? suffix;
  const host = (header(req, "x-forwarded-host") ?? header(req, "host") ?? "").split(",")[0]!.trim();
  const proto = header(req, "x-forwarded-proto") ?? "https";
  const ip = (header(req, "x-forwarded-for") ?? header(req, "x-real-ip") ?? "").split(",")[0]!.trim() || remoteIp(req);
  // The client's country for region-based access levels, when the proxy knows it (GeoIP, CDN).
  const region = (header(req, "x-client-region") ?? header(req, "cf-ipcountry"))?.trim().toUpperCase();
  if (/^https?:\/\//i.test(uri)) uri = new URL(uri).pathname + new URL(uri).search;
  const path = uri.split("?")[0] ?? "/";

  const id = await forwardIdentity(ctx, req);
  const check: CheckInput = {
    request: { method, host, path, ...(ip && /^[0-9a-fA-F:.]+$/.test(ip) ? { ip } : {}), ...(region && /^[A-Z]{2}$/.test(region) ? { regionCode: region } : {}) },
    ...(id.token ? { token: id.token } : {}),
  };
  let d: DecisionResponse;
  if (id.sessionEmail) {
    // A Gatehouse session is an identity Gatehouse itself established: assert it.
    d = await decide(ctx, { ...caller, proxy: { ...caller.proxy, trusted: true } }, { ...check, principal: `user:${id.sessionEmail}` });
  } else d = await decide(ctx, caller, check);

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
    const original = `${proto}://${authority}${uri}`;
    const signin = signInUrl(ctx, original);
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
  const troubleshoot = `${ctx.publicUrl}/troubleshooter?decision=${d.decisionId}`;
  const headers = { ...common, "x-gatehouse-troubleshoot-url": troubleshoot };
  if (wantsPage(req)) endPage(res, 403, headers, "Access denied", `Reason: ${escapeHtml(d.reason)}. Decision ${escapeHtml(d.decisionId)} (<a href="${escapeHtml(troubleshoot)}">troubleshoot</a>).`);
  else endEmpty(res, 403, headers);
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

/**
 * Answers the request if it is a hot path; returns false to hand it to Next.js.
 * Every error is mapped to { error: { code, message } }; nothing internal leaks.
 */
export function handleHotPath(ctx: HotPathContext, req: IncomingMessage, res: ServerResponse): boolean {
  const url = req.url ?? "/";
  const q = url.indexOf("?");
  const path = q === -1 ? url : url.slice(0, q);
  let handler: ((ctx: HotPathContext, req: IncomingMessage, res: ServerResponse) => Promise<void> | void) | null = null;
  switch (path.startsWith(`${FORWARD_AUTH_PATH}/`) ? FORWARD_AUTH_PATH : path) {
    case "/api/v1/decisions":
      handler = handleDecisions;
      break;
    case "/api/v1/decisions:batch":
      handler = handleBatch;
      break;
    case FORWARD_AUTH_PATH:
      handler = (c, rq, rs) =>
        handleForwardAuth(c, rq, rs).catch((e: unknown) => {
          // Forward-auth answers 401/403/503 as plain statuses proxies understand.
          const { status, body } = toErrorBody(e);
          if (status === 500) console.error(e);
          send(rs, status === 500 ? 503 : status, body);
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
    case "/api/v1/token":
      handler = async (c, rq, rs) => {
        if (rq.method !== "POST") throw new AppError("METHOD_NOT_ALLOWED", "use POST");
        const r = await handleTokenRequest({ db: c.prisma, ring: c.ring }, await readBody(rq, MAX_BODY), header(rq, "content-type"));
        rs.writeHead(r.status, r.headers);
        rs.end(JSON.stringify(r.body));
      };
      break;
    case "/healthz":
      handler = (c, _rq, rs) => {
        const engine = c.engine.health();
        const audit = c.log.getStats();
        // Decisions continue from the last snapshot when the database is away: "stale", not down.
        send(rs, 200, { status: engine.stale ? "stale" : "ok", engine, audit: { ...audit, spoolFile: undefined } });
      };
      break;
    default:
      return false;
  }
  Promise.resolve()
    .then(() => handler!(ctx, req, res))
    .catch((e: unknown) => {
      if (!res.headersSent) sendError(res, e);
      else res.destroy();
    });
  return true;
}
