// The admin API over HTTP (DESIGN.md §6, Admin API), answered by the custom server like the hot
// paths — no Next.js in between, the engine at hand. One handler per method, mounted three times:
//
//   POST /api/v1/{resource name}:getIamPolicy | :setIamPolicy | :testIamPermissions
//        Gatehouse's shape: errors { error: { code: "ABORTED", message } }
//   POST /v1/{resource name}:…                           (IAP admin API paths)
//   POST /v3/{organizations|folders|projects}/{id}:…     (Resource Manager v3 paths)
//        Google's shape, so its client libraries work: errors { error: { code: 409, message,
//        status: "ABORTED" } }; query parameters such as $alt=json;enum-encoding=int are accepted.
//
// Who is asking: `Authorization: Bearer` with an ID token — Gatehouse's own for its own audience
// (GATEHOUSE_PUBLIC_URL, the CLI `token` default), or a trusted issuer's — or the console's session
// cookie. A cookie rides along with any request the browser makes, so a cookie-authenticated call
// must come from Gatehouse's own pages: its Origin must be GATEHOUSE_PUBLIC_URL's (CSRF).
// setIamPolicy answers with `x-gatehouse-revision`: pass it as minRevision to the decision API to
// see the change enforced on the very next call.
import type { IncomingMessage, ServerResponse } from "node:http";
import { AppError, STATUS_BY_CODE, toErrorBody } from "@/lib/errors";
import type { PrismaClient } from "@/lib/generated/prisma/client";
import type { TokenVerifier } from "@/lib/identity/verify";
import type { DataAccessRecord } from "@/lib/audit/decisions";
import { auditLogRoutes } from "@/lib/audit/routes";
import { readConsoleSession } from "@/lib/auth/console-cookie";
import { sessionStanding } from "@/lib/auth/users";
import { bearer, header, parseJson, readBody, remoteIp, send } from "@/lib/server/http-io";
import { principalActor, type Actor, type AdminContext, type EngineView } from "./context";
import { getIamPolicy, setIamPolicy, testIamPermissions } from "./policies";
import { proxyKeyRoutes } from "./proxy-keys";
import { groupRoutes } from "./groups";
import { roleRoutes } from "./roles";
import { accessLevelRoutes } from "./access-levels";
import { denyPolicyRoutes } from "./deny-policies";
import { hierarchyRoutes } from "./hierarchy";
import { userRoutes } from "./users";
import { serviceAccountRoutes } from "./service-accounts";
import { issuerRoutes } from "./issuers";
import { signingKeyRoutes } from "./signing-keys";
import { auditHistoryRoutes } from "./audit-history";
import { router, type ApiRoute } from "./routes";
import { parse } from "./validation";

/** Every REST route of the admin API (besides the IAM methods); openapi.ts documents the same list. */
export const ADMIN_ROUTES: readonly ApiRoute[] = [
  // First: their custom verbs (`…:explain`, `…:accessAt`) would also match the plain `{id}` templates below.
  ...auditHistoryRoutes,
  ...proxyKeyRoutes,
  ...hierarchyRoutes,
  ...userRoutes,
  ...serviceAccountRoutes,
  ...issuerRoutes,
  ...signingKeyRoutes,
  ...groupRoutes,
  ...roleRoutes,
  ...accessLevelRoutes,
  ...denyPolicyRoutes,
  ...auditLogRoutes,
];
const REST = router(ADMIN_ROUTES);

export interface AdminHttpContext {
  prisma: PrismaClient;
  engine: EngineView;
  verifier: TokenVerifier;
  authSecret: string;
  publicUrl: string;
  /** Where reads of the audit trail are recorded (the decision log). */
  log?: { record(r: DataAccessRecord): void };
}

/** A policy of 1,500 members with conditions is well under this. */
const MAX_ADMIN_BODY = 1024 * 1024;

type IamMethod = "getIamPolicy" | "setIamPolicy" | "testIamPermissions";

export type AdminRoute =
  | {
      kind: "iam";
      resource: string;
      method: IamMethod;
      /** Google's error shape (the /v1 and /v3 mounts). */
      google: boolean;
    }
  | { kind: "rest"; path: string; google: false };

const IAM_PATH = /^\/(api\/v1|v1|v3)\/(.+):(getIamPolicy|setIamPolicy|testIamPermissions)$/;
const V3_RESOURCE = /^(organizations|folders|projects)\/[^/]+$/;

/** The admin route of a request path (without its query), or null when it is not one. */
export function adminRoute(path: string): AdminRoute | null {
  const m = IAM_PATH.exec(path);
  // (match answers { allow } for a path that exists with other methods only.)
  if (!m) return REST.match("GET", path) !== null ? { kind: "rest", path, google: false } : null;
  let resource: string;
  try {
    resource = m[2]!.split("/").map(decodeURIComponent).join("/");
  } catch {
    return null;
  }
  if (m[1] === "v3" && !V3_RESOURCE.test(resource)) return null;
  return { kind: "iam", resource, method: m[3] as IamMethod, google: m[1] !== "api/v1" };
}


async function authenticate(ctx: AdminHttpContext, req: IncomingMessage): Promise<Actor> {
  const token = bearer(req.headers.authorization);
  if (token) {
    const v = await ctx.verifier.verify(token, { audiences: [ctx.publicUrl] });
    if (!v.ok) throw new AppError("UNAUTHENTICATED", `the bearer token was not accepted (${v.reason})`);
    return principalActor(v.identity.principal);
  }
  const session = await readConsoleSession(header(req, "cookie"), ctx.authSecret);
  if (!session) throw new AppError("UNAUTHENTICATED", "sign in to the console, or send Authorization: Bearer <ID token>");
  // CSRF: a cookie comes with any cross-site request; only Gatehouse's own pages may change
  // anything with it. (A cross-site GET cannot read the answer.)
  const origin = header(req, "origin");
  if (req.method !== "GET" && req.method !== "HEAD" && origin !== new URL(ctx.publicUrl).origin) {
    throw new AppError("PERMISSION_DENIED", "a request authenticated by the console session must come from the console (Origin)");
  }
  // A read has effects too (reading the audit trail is recorded) and a download needs no script:
  // a GET that says it comes from another site (Origin, or the browser's Sec-Fetch-Site) is refused.
  // A same-origin navigation (the console's export link) sends no Origin, and Sec-Fetch-Site: same-origin.
  const site = header(req, "sec-fetch-site");
  if ((origin !== undefined && origin !== new URL(ctx.publicUrl).origin) || (site !== undefined && site !== "same-origin" && site !== "none")) {
    throw new AppError("PERMISSION_DENIED", "a request authenticated by the console session must come from the console (Origin)");
  }
  const standing = await sessionStanding(ctx.prisma, session.email, session.authAt);
  if (!standing.ok) throw new AppError("UNAUTHENTICATED", "the console session has ended; sign in again");
  if (standing.passwordMustChange && session.via === "credentials") throw new AppError("PERMISSION_DENIED", "choose a new password first");
  return principalActor(`user:${session.email}`);
}

function sendAdminError(res: ServerResponse, route: AdminRoute, err: unknown, allow = "POST"): void {
  const { status, body } = toErrorBody(err);
  if (status === 500) console.error(err);
  if (!route.google) {
    send(res, status, body, status === 405 ? { allow } : {});
    return;
  }
  const google = { code: status, message: body.error.message, status: body.error.code in STATUS_BY_CODE ? googleStatus(body.error.code) : "UNKNOWN" };
  send(res, status, { error: google }, status === 405 ? { allow } : {});
}

/** Google's canonical status names (google.rpc.Code); ours are the same where they exist. */
function googleStatus(code: keyof typeof STATUS_BY_CODE): string {
  switch (code) {
    case "METHOD_NOT_ALLOWED":
      return "UNIMPLEMENTED";
    case "PAYLOAD_TOO_LARGE":
      return "INVALID_ARGUMENT";
    default:
      return code;
  }
}

function adminContext(ctx: AdminHttpContext, actor: Actor, req: IncomingMessage): AdminContext {
  return {
    db: ctx.prisma,
    actor,
    engine: ctx.engine,
    instance: { authSecret: ctx.authSecret, publicUrl: ctx.publicUrl },
    requestMeta: { ...(remoteIp(req) ? { callerIp: remoteIp(req) } : {}), ...(header(req, "user-agent") ? { userAgent: header(req, "user-agent") } : {}) },
    ...(ctx.log ? { accessLog: ctx.log } : {}),
  };
}

/** Answers an admin API request (the caller matched `adminRoute`). */
export async function handleAdminApi(ctx: AdminHttpContext, route: AdminRoute, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (route.kind === "rest") return handleRest(ctx, route, req, res);
  try {
    if (req.method !== "POST") throw new AppError("METHOD_NOT_ALLOWED", "use POST");
    const actor = await authenticate(ctx, req);
    const text = await readBody(req, MAX_ADMIN_BODY);
    const input = text.trim() === "" ? {} : parseJson(text);
    const admin = adminContext(ctx, actor, req);
    switch (route.method) {
      case "getIamPolicy":
        send(res, 200, await getIamPolicy(admin, route.resource, input));
        return;
      case "setIamPolicy": {
        const r = await setIamPolicy(admin, route.resource, input);
        if (r.dryRun) send(res, 200, { policy: r.policy, bindingDeltas: r.bindingDeltas, dryRun: true });
        else send(res, 200, r.policy, r.revision !== null ? { "x-gatehouse-revision": r.revision.toString() } : {});
        return;
      }
      case "testIamPermissions":
        send(res, 200, await testIamPermissions(admin, route.resource, input));
        return;
    }
  } catch (e) {
    if (res.headersSent) res.destroy();
    else sendAdminError(res, route, e);
  }
}

/** Streams `chunks`, waiting for the socket to drain; stops reading them when the client goes away. */
async function sendStream(res: ServerResponse, status: number, stream: { contentType: string; chunks: AsyncIterable<string> }, headers: Record<string, string>): Promise<void> {
  res.writeHead(status, { "content-type": stream.contentType, "cache-control": "no-store", ...headers });
  for await (const chunk of stream.chunks) {
    if (res.destroyed) return;
    if (!res.write(chunk)) await new Promise<void>((resolve) => {
      const done = () => {
        res.off("drain", done);
        res.off("close", done);
        resolve();
      };
      res.on("drain", done);
      res.on("close", done);
    });
  }
  res.end();
}

async function handleRest(ctx: AdminHttpContext, route: AdminRoute, req: IncomingMessage, res: ServerResponse): Promise<void> {
  let allow = "GET";
  try {
    const url = new URL(req.url ?? "/", "http://gatehouse.invalid");
    const found = REST.match(req.method ?? "GET", url.pathname);
    if (found === null) throw new AppError("NOT_FOUND", "no such admin API path");
    if ("allow" in found) {
      allow = found.allow;
      throw new AppError("METHOD_NOT_ALLOWED", `use ${found.allow}`);
    }
    const actor = await authenticate(ctx, req);
    const r = found.route;
    const text = r.body ? await readBody(req, MAX_ADMIN_BODY) : "";
    const body = r.body ? parse(r.body, text.trim() === "" ? {} : parseJson(text)) : undefined;
    const query = r.query ? parse(r.query, Object.fromEntries(url.searchParams)) : undefined;
    const out = await r.handler(adminContext(ctx, actor, req), { params: found.params, body, query });
    if (out.stream) await sendStream(res, out.status ?? 200, out.stream, out.headers ?? {});
    else send(res, out.status ?? 200, out.body ?? {}, out.headers ?? {});
  } catch (e) {
    if (res.headersSent) res.destroy();
    else sendAdminError(res, route, e, allow);
  }
}
