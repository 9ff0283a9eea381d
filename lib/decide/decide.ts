// The decision service: the one path from a validated request to an answer, shared by the JSON
// decision API and forward-auth. It resolves the identity (asserted by a trusted proxy, a
// verified bearer token, or an application session Gatehouse itself established), the resource
// (by name or host mapping), evaluates on the in-memory snapshot, signs the identity headers on
// allow, and hands a record to the audit log. It never reads the database. When it cannot
// decide, it fails closed.
//
// What a caller may see and do depends on its proxy credential:
//   - any credential: decisions for a token (or anonymously), within its scopes;
//   - trusted credentials only: assert a principal, ask what-if questions (request.time), ask
//     for `explain`, and see which binding or rule decided (grantedBy / deniedBy);
//   - request.regionCode only from credentials that declare a region source (regionHeader).
// Identity headers are signed only for a real request (not a what-if) on the permission that
// grants passage through the resource (policy `passagePermission`), never for other permissions.
import { z } from "zod";
import { evaluate, parsePrincipal, passagePermission, resolveHost, type CompiledNode, type Decision } from "@/lib/policy";
import { AppError, type ErrorCode } from "@/lib/errors";
import { newDecisionId, type DecisionLog } from "@/lib/audit/decisions";
import { buildIapHeaders, subjectIdForEmail, type IapHeaders } from "@/lib/identity/assertion";
import type { KeyRing } from "@/lib/identity/keys";
import type { TokenVerifier } from "@/lib/identity/verify";
import type { PolicyEngine } from "./engine";
import { inScope, type ProxyCredentialInfo } from "./proxies";

/** How long a call with minRevision waits for the engine before failing closed. */
export const MIN_REVISION_WAIT_MS = 2000;

const ZRequestAttrs = z.strictObject({
  method: z.string().regex(/^[A-Za-z]{1,20}$/, "an HTTP method").optional(),
  host: z.string().max(255).optional(),
  // A fragment never travels in an HTTP request: a path with "#" did not come from a real
  // request line, and what a backend would make of it is anyone's guess.
  path: z.string().max(8192).refine((p) => !p.includes("#"), "a request path has no fragment (#)").optional(),
  ip: z.union([z.ipv4(), z.ipv6()]).optional(),
  regionCode: z
    .string()
    .transform((r) => r.toUpperCase())
    .pipe(z.string().regex(/^[A-Z]{2}$/, "an ISO 3166-1 alpha-2 code"))
    .optional(),
  /** What-if time (troubleshooting, replays); trusted proxies only. Default: now. */
  time: z.iso.datetime({ offset: true }).optional(),
});

/** POST /api/v1/decisions body (DESIGN.md §6). */
export const ZDecisionRequest = z.strictObject({
  principal: z.string().max(320).optional(),
  token: z.string().max(16_384).optional(),
  resource: z.string().max(1024).optional(),
  permission: z.string().max(256).optional(),
  request: ZRequestAttrs.optional(),
  destination: z.strictObject({ ip: z.union([z.ipv4(), z.ipv6()]).optional(), port: z.number().int().min(0).max(65535).optional() }).optional(),
  minRevision: z.string().regex(/^\d{1,19}$/, "a revision number as a string").optional(),
  explain: z.boolean().optional(),
});
export type DecisionRequest = z.infer<typeof ZDecisionRequest>;

export const ZBatchRequest = z.strictObject({ checks: z.array(z.unknown()).min(1).max(100) });

export interface DecisionResponse {
  allowed: boolean;
  reason: Decision["reason"];
  decisionId: string;
  revision: string;
  principal: string | null;
  resource: string;
  permission: string;
  /** Trusted credentials only. */
  grantedBy?: Decision["grantedBy"];
  /** Trusted credentials only. */
  deniedBy?: Decision["deniedBy"];
  accessLevels: Decision["accessLevels"];
  headers?: IapHeaders;
  trace?: Decision["trace"];
  /** Why a presented token was not accepted (reason UNAUTHENTICATED). */
  tokenError?: string;
}

export interface DecideContext {
  engine: PolicyEngine;
  ring: KeyRing;
  verifier: TokenVerifier;
  log: DecisionLog;
}

export interface Caller {
  proxy: ProxyCredentialInfo;
}

/** Identity input: at most one of an asserted principal, a token, or an application session. */
interface IdentityInput {
  principal?: string;
  token?: string;
  /**
   * The email of an application session (lib/decide/app-session.ts) that Gatehouse itself
   * established and forward-auth verified. Never set from a request body.
   */
  sessionEmail?: string;
}

type ResolvedIdentity = { principal: string | null; email: string | null; subjectId: string | null; tokenError?: string };

/** parsePrincipal, memoised: proxies assert the same few thousand principals over and over. */
const principalMemo = new Map<string, ReturnType<typeof parsePrincipal>>();
function parsedPrincipal(input: string): ReturnType<typeof parsePrincipal> {
  let p = principalMemo.get(input);
  if (p === undefined) {
    p = parsePrincipal(input);
    if (principalMemo.size >= 10_000) principalMemo.clear();
    principalMemo.set(input, p);
  }
  return p;
}

/**
 * The subject of an identity: the principal's stable id (Principal.id) when Gatehouse stores it,
 * else one derived from the email — never a token's own `sub`, so that the same person has the
 * same `sub` in the assertion whichever issuer, session or proxy identified them.
 */
function subjectOf(ctx: DecideContext, principal: string, email: string): string {
  return ctx.engine.current().side.principalIds.get(principal) ?? subjectIdForEmail(email);
}

async function resolveIdentity(ctx: DecideContext, caller: Caller, input: IdentityInput, audience: string): Promise<ResolvedIdentity> {
  const given = Number(input.principal !== undefined) + Number(input.token !== undefined) + Number(input.sessionEmail !== undefined);
  if (given > 1) throw new AppError("INVALID_ARGUMENT", "give either principal or token, not both");
  if (input.principal !== undefined) {
    if (!caller.proxy.trusted) {
      throw new AppError("PERMISSION_DENIED", "this proxy credential is not trusted to assert principals; forward the user's token instead");
    }
    const p = parsedPrincipal(input.principal);
    if (!p.ok) throw new AppError("INVALID_ARGUMENT", `principal: ${p.error}`);
    return { principal: p.value.key, email: p.value.email, subjectId: subjectOf(ctx, p.value.key, p.value.email) };
  }
  if (input.sessionEmail !== undefined) {
    const principal = `user:${input.sessionEmail}`;
    return { principal, email: input.sessionEmail, subjectId: subjectOf(ctx, principal, input.sessionEmail) };
  }
  if (input.token !== undefined) {
    // Gatehouse's own ID tokens count only for the resource they were minted for.
    const v = await ctx.verifier.verify(input.token, { audiences: [audience] });
    if (!v.ok) return { principal: null, email: null, subjectId: null, tokenError: `${v.reason}: ${v.message}` };
    return { principal: v.identity.principal, email: v.identity.email, subjectId: subjectOf(ctx, v.identity.principal, v.identity.email) };
  }
  return { principal: null, email: null, subjectId: null };
}

export interface CheckInput extends IdentityInput {
  resource?: string;
  permission?: string;
  request?: DecisionRequest["request"];
  destination?: DecisionRequest["destination"];
  minRevision?: string;
  explain?: boolean;
}

/** Read-your-writes: waits (bounded) until the engine has applied `minRevision`, else fails closed. */
async function ensureRevision(ctx: DecideContext, minRevision: string | undefined, waitMs: number): Promise<void> {
  if (minRevision !== undefined && !(await ctx.engine.waitFor(BigInt(minRevision), waitMs))) {
    throw new AppError("UNAVAILABLE", `the policy engine has not reached revision ${minRevision} yet; try again`);
  }
}

const NOT_IN_SCOPE = "this proxy credential may not ask about this resource";

/**
 * The proxy's scopes apply to every question, answered or not: an unknown resource name is
 * checked by its name, and an unmapped host is out of scope for a scoped credential — otherwise
 * the difference between "out of scope" and "unknown" would tell it what exists elsewhere.
 */
function checkScope(caller: Caller, resource: string | null, node: CompiledNode | undefined): void {
  const scopes = caller.proxy.scopes;
  if (scopes.length === 0) return;
  const ok = node ? scopes.some((s) => node.chain.includes(s)) : resource !== null && inScope(caller.proxy, resource);
  if (!ok) throw new AppError("PERMISSION_DENIED", NOT_IN_SCOPE);
}

export interface DecideOptions {
  /**
   * How long to wait for minRevision (default MIN_REVISION_WAIT_MS). The batch form waits once
   * for the highest minRevision of its checks, then decides each with 0 (reached, or fail closed).
   */
  revisionWaitMs?: number;
}

/** Decides one check. Throws AppError for a malformed call; a denial is a normal answer. */
export async function decide(ctx: DecideContext, caller: Caller, input: CheckInput, opts: DecideOptions = {}): Promise<DecisionResponse> {
  const started = process.hrtime.bigint();
  await ensureRevision(ctx, input.minRevision, opts.revisionWaitMs ?? MIN_REVISION_WAIT_MS);
  const now = new Date();
  if (!ctx.engine.isFresh(now.getTime())) {
    throw new AppError("UNAVAILABLE", "the policy snapshot is too old to decide on (the database has been unreachable); try again");
  }
  const trusted = caller.proxy.trusted;
  const req = input.request ?? {};
  if (req.time !== undefined && !trusted) throw new AppError("PERMISSION_DENIED", "only a trusted proxy credential may set request.time");
  if (input.explain && !trusted) throw new AppError("PERMISSION_DENIED", "only a trusted proxy credential may ask for explain");
  if (req.regionCode !== undefined && !caller.proxy.regionHeader) {
    throw new AppError("PERMISSION_DENIED", "this proxy credential does not report client regions (proxy-key create --region-header)");
  }

  const { snapshot, side } = ctx.engine.current();
  let resource: string | null;
  if (input.resource !== undefined) resource = input.resource;
  else if (req.host) {
    // The raw and the normalised path must select the same resource, or neither is asked about.
    const r = resolveHost(snapshot, req.host, req.path);
    resource = r.ok ? r.resource : null;
  } else throw new AppError("INVALID_ARGUMENT", "give a resource, or a request.host that maps to one");
  const node = resource !== null ? snapshot.nodes.get(resource) : undefined;
  checkScope(caller, resource, node);
  const audience = resource === null ? "" : (side.audiences.get(resource) ?? resource);
  const identity = await resolveIdentity(ctx, caller, input, audience);

  const whatIf = req.time !== undefined;
  const time = whatIf ? new Date(req.time!) : now;
  const decision: Decision = evaluate(snapshot, {
    principal: identity.principal,
    resource: resource ?? `hosts/${req.host}`,
    ...(input.permission ? { permission: input.permission } : {}),
    request: { time, host: req.host, path: req.path, method: req.method?.toUpperCase() ?? "GET", ip: req.ip, regionCode: req.regionCode },
    ...(input.destination ? { destination: input.destination } : {}),
    explain: input.explain ?? false,
  });

  // A token that was presented but not accepted never falls back to anonymous access.
  if (identity.tokenError) Object.assign(decision, { allowed: false, reason: "UNAUTHENTICATED", grantedBy: undefined });

  let headers: IapHeaders | undefined;
  if (decision.allowed && !whatIf && identity.principal && identity.email && node && passagePermission(node.type) === decision.permission) {
    headers = await buildIapHeaders(ctx.ring, {
      principal: identity.principal,
      email: identity.email,
      subjectId: identity.subjectId ?? subjectIdForEmail(identity.email),
      audience,
      accessLevels: decision.accessLevels.satisfied,
    });
  }

  const decisionId = newDecisionId();
  const latencyUs = Number((process.hrtime.bigint() - started) / 1000n);
  ctx.log.record({
    decisionId,
    timestamp: now,
    principal: identity.principal,
    resourceName: decision.resource,
    permission: decision.permission,
    granted: decision.allowed,
    reason: decision.reason,
    callerIp: req.ip ?? null,
    host: req.host ?? null,
    path: req.path ?? null,
    method: req.method?.toUpperCase() ?? "GET",
    accessLevels: decision.accessLevels.satisfied,
    unsatisfiedLevels: decision.accessLevels.unsatisfied,
    decidedBy: (decision.grantedBy ?? decision.deniedBy ?? null) as Record<string, unknown> | null,
    revision: BigInt(decision.revision),
    latencyUs,
    proxyCredentialId: caller.proxy.id,
    status: identity.tokenError ? { code: 16, message: identity.tokenError } : decision.allowed ? null : { code: 7, message: decision.reason },
    whatIfTime: whatIf ? time : null,
    regionCode: req.regionCode ?? null,
    destination: input.destination ?? null,
  });

  return {
    allowed: decision.allowed,
    reason: decision.reason,
    decisionId,
    revision: decision.revision,
    principal: decision.principal,
    resource: decision.resource,
    permission: decision.permission,
    ...(trusted && decision.grantedBy ? { grantedBy: decision.grantedBy } : {}),
    ...(trusted && decision.deniedBy ? { deniedBy: decision.deniedBy } : {}),
    accessLevels: decision.accessLevels,
    ...(headers ? { headers } : {}),
    ...(decision.trace ? { trace: decision.trace } : {}),
    ...(identity.tokenError ? { tokenError: identity.tokenError } : {}),
  };
}

/** google.rpc.Code of each error code, for the status of a refused call's record. */
const RPC_CODE: Record<ErrorCode, number> = {
  INVALID_ARGUMENT: 3,
  UNAUTHENTICATED: 16,
  PERMISSION_DENIED: 7,
  NOT_FOUND: 5,
  METHOD_NOT_ALLOWED: 12,
  ALREADY_EXISTS: 6,
  ABORTED: 10,
  PAYLOAD_TOO_LARGE: 8,
  FAILED_PRECONDITION: 9,
  UNAVAILABLE: 14,
  INTERNAL: 13,
};

/** What is known about a call when it is refused: the proxy (if it authenticated) and the check (if it parsed). */
export interface RefusedCall {
  caller?: Caller;
  check?: CheckInput;
  /** The client address the proxy reported (forward-auth), else the calling proxy's own. */
  ip?: string;
}

/**
 * Records a call refused before or instead of a decision (no or bad proxy credential, malformed
 * input, an untrusted credential asserting a principal, out of scope, stale snapshot…) as one
 * data-access record: granted false, reason REFUSED_<code>, the error in its status. Only what
 * was established is kept: the principal only when a trusted credential asserted it, else null.
 * Returns the record's decisionId.
 */
export function recordRefusal(ctx: DecideContext, call: RefusedCall, error: unknown): string {
  const code: ErrorCode = error instanceof AppError ? error.code : "INTERNAL";
  const message = error instanceof AppError ? error.message : "Internal error";
  const check = call.check;
  const req = check?.request ?? {};
  let principal: string | null = null;
  if (check?.principal !== undefined && call.caller?.proxy.trusted) {
    const p = parsedPrincipal(check.principal);
    if (p.ok) principal = p.value.key;
  } else if (check?.sessionEmail !== undefined) principal = `user:${check.sessionEmail}`;
  const decisionId = newDecisionId();
  ctx.log.record({
    decisionId,
    timestamp: new Date(),
    principal,
    resourceName: check?.resource ?? (req.host ? `hosts/${req.host}` : ""),
    permission: check?.permission ?? "",
    granted: false,
    reason: `REFUSED_${code}`,
    callerIp: req.ip ?? call.ip ?? null,
    host: req.host ?? null,
    path: req.path ?? null,
    method: req.method?.toUpperCase() ?? null,
    accessLevels: [],
    unsatisfiedLevels: [],
    decidedBy: null,
    revision: BigInt(ctx.engine.current().snapshot.revision),
    latencyUs: 0,
    proxyCredentialId: call.caller?.proxy.id ?? null,
    status: { code: RPC_CODE[code], message },
    whatIfTime: null,
    regionCode: req.regionCode ?? null,
    destination: check?.destination ?? null,
  });
  return decisionId;
}
