// The decision service: the one path from a validated request to an answer, shared by the JSON
// decision API and forward-auth. It resolves the identity (asserted by a trusted proxy, or a
// verified bearer token), the resource (by name or host mapping), evaluates on the in-memory
// snapshot, signs the identity headers on allow, and hands a record to the audit log.
// It never reads the database. When it cannot decide, it fails closed.
import { randomUUID } from "node:crypto";
import { z } from "zod";
import { evaluate, parsePrincipal, resolveHost, type Decision } from "@/lib/policy";
import { AppError } from "@/lib/errors";
import type { DecisionLog } from "@/lib/audit/decisions";
import { buildIapHeaders, subjectIdForEmail, type IapHeaders } from "@/lib/identity/assertion";
import type { KeyRing } from "@/lib/identity/keys";
import type { TokenVerifier } from "@/lib/identity/verify";
import type { PolicyEngine } from "./engine";
import type { ProxyCredentialInfo } from "./proxies";

/** How long a call with minRevision waits for the engine before failing closed. */
export const MIN_REVISION_WAIT_MS = 2000;

const ZRequestAttrs = z.strictObject({
  method: z.string().regex(/^[A-Za-z]{1,20}$/, "an HTTP method").optional(),
  host: z.string().max(255).optional(),
  path: z.string().max(8192).optional(),
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
  grantedBy?: Decision["grantedBy"];
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

/** Identity input: exactly one of an asserted principal, a token, or none (anonymous). */
interface IdentityInput {
  principal?: string;
  token?: string;
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

async function resolveIdentity(ctx: DecideContext, caller: Caller, input: IdentityInput, audiences: readonly string[]): Promise<ResolvedIdentity> {
  if (input.principal !== undefined && input.token !== undefined) {
    throw new AppError("INVALID_ARGUMENT", "give either principal or token, not both");
  }
  if (input.principal !== undefined) {
    if (!caller.proxy.trusted) {
      throw new AppError("PERMISSION_DENIED", "this proxy credential is not trusted to assert principals; forward the user's token instead");
    }
    const p = parsedPrincipal(input.principal);
    if (!p.ok) throw new AppError("INVALID_ARGUMENT", `principal: ${p.error}`);
    const principal = p.value.key;
    const { side } = ctx.engine.current();
    return { principal, email: p.value.email, subjectId: side.principalIds.get(principal) ?? subjectIdForEmail(p.value.email) };
  }
  if (input.token !== undefined) {
    const v = await ctx.verifier.verify(input.token, { audiences });
    if (!v.ok) return { principal: null, email: null, subjectId: null, tokenError: `${v.reason}: ${v.message}` };
    const { side } = ctx.engine.current();
    return { principal: v.identity.principal, email: v.identity.email, subjectId: side.principalIds.get(v.identity.principal) ?? v.identity.subjectId };
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

/** Decides one check. Throws AppError for a malformed call; a denial is a normal answer. */
export async function decide(ctx: DecideContext, caller: Caller, input: CheckInput): Promise<DecisionResponse> {
  const started = process.hrtime.bigint();
  if (input.minRevision !== undefined && !(await ctx.engine.waitFor(BigInt(input.minRevision), MIN_REVISION_WAIT_MS))) {
    throw new AppError("UNAVAILABLE", `the policy engine has not reached revision ${input.minRevision} yet; try again`);
  }
  const { snapshot, side } = ctx.engine.current();
  const req = input.request ?? {};
  // Minimal adaptation to resolveHost's HostResolution (UNMAPPED and AMBIGUOUS both map to no resource).
  const mapped = !input.resource && req.host ? resolveHost(snapshot, req.host, req.path) : null;
  const resource = input.resource ?? (mapped?.ok ? mapped.resource : null);
  if (!resource) {
    if (!req.host) throw new AppError("INVALID_ARGUMENT", "give a resource, or a request.host that maps to one");
  }
  const node = resource ? snapshot.nodes.get(resource) : undefined;
  if (resource && node && caller.proxy.scopes.length && !caller.proxy.scopes.some((s) => node.chain.includes(s))) {
    throw new AppError("PERMISSION_DENIED", `this proxy credential may not ask about ${resource}`);
  }
  const audience = (resource && side.audiences.get(resource)) || resource || "";
  const identity = await resolveIdentity(ctx, caller, input, [audience]);

  if (req.time !== undefined && !caller.proxy.trusted) {
    throw new AppError("PERMISSION_DENIED", "only a trusted proxy credential may set request.time");
  }
  const time = req.time !== undefined ? new Date(req.time) : new Date();
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
  if (decision.allowed && identity.principal && identity.email) {
    headers = await buildIapHeaders(ctx.ring, {
      principal: identity.principal,
      email: identity.email,
      subjectId: identity.subjectId ?? subjectIdForEmail(identity.email),
      audience,
      accessLevels: decision.accessLevels.satisfied,
      // Signed at wall-clock time even when the check was evaluated at a what-if time.
    });
  }

  const decisionId = randomUUID();
  const latencyUs = Number((process.hrtime.bigint() - started) / 1000n);
  ctx.log.record({
    decisionId,
    timestamp: time,
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
  });

  return {
    allowed: decision.allowed,
    reason: decision.reason,
    decisionId,
    revision: decision.revision,
    principal: decision.principal,
    resource: decision.resource,
    permission: decision.permission,
    ...(decision.grantedBy ? { grantedBy: decision.grantedBy } : {}),
    ...(decision.deniedBy ? { deniedBy: decision.deniedBy } : {}),
    accessLevels: decision.accessLevels,
    ...(headers ? { headers } : {}),
    ...(decision.trace ? { trace: decision.trace } : {}),
    ...(identity.tokenError ? { tokenError: identity.tokenError } : {}),
  };
}
