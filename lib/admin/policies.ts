// IAM policy methods on any resource name (DESIGN.md §6, Admin API): getIamPolicy, setIamPolicy,
// testIamPermissions, in Google's JSON shapes. One implementation for every transport: the REST
// routes, Google's mounts (/v1, /v3), the console's actions and the CLI.
//
// Google's rules kept here:
//   - `etag` is base64 (clients decode it as bytes); a setIamPolicy whose etag is not the
//     current one is ABORTED (409) and changes nothing. Without an etag a write onto a policy that
//     has conditions is refused (Google would silently drop the conditions; we do not).
//   - A policy with conditional bindings is version 3. Read with requestedPolicyVersion < 3 it
//     comes back as version 1 with each conditional binding's role suffixed `_withcond_<hash>`
//     and no condition (as IAM does), and such roles are refused on write.
//   - Binding order is kept; bindings with the same role and condition are merged (as IAM does).
//
// Gatehouse's own rules:
//   - A setIamPolicy that would store exactly the policy already stored (same bindings, in the
//     same order) writes nothing: no new etag, no revision, no admin-activity record. Its answer
//     is the stored policy with its etag, without the x-gatehouse-revision header.
//   - `"dryRun": true` in the setIamPolicy body (an extension; Google's clients never send it),
//     or the dryRun option: everything is checked — etag, validation, authorisation, the guard
//     rails — as for the write, then nothing is kept. The answer is
//     `{ policy, bindingDeltas, dryRun: true }`: the policy it would store (with the current etag,
//     the one to send with the real write) and Google's BindingDelta list of what would change.
import { createHash } from "node:crypto";
import { z } from "zod";
import { KNOWN_PERMISSIONS, parseMember, validatePolicy } from "@/lib/policy";
import { AppError } from "@/lib/errors";
import { bindingDeltas, type BindingDelta } from "@/lib/audit/admin";
import { canonicalJson } from "@/lib/audit/chain";
import { etagFor } from "@/lib/db/revision";
import type { PolicyBinding } from "@/lib/db/writers";
import { readPolicies } from "@/lib/db/policy-rows";
import { readPoliciesForWrite, setPolicies } from "@/lib/db/bulk";
import type { Prisma } from "@/lib/generated/prisma/client";
import type { AdminContext } from "./context";
import { checkGrant, holds, permissionDenied } from "./authz";
import { runMutation } from "./mutation";
import { parse, throwIssues } from "./validation";
import { policyPermission, policyService } from "./permissions";

const ZCondition = z.strictObject({
  title: z.string().max(100),
  description: z.string().max(256).optional(),
  expression: z.string().min(1).max(12_000),
});

export const ZIamBinding = z.object({
  role: z.string().min(1).max(256),
  members: z.array(z.string().min(1).max(512)).max(1500),
  condition: ZCondition.optional().nullable(),
});

const ETAG = /^[A-Za-z0-9+/]+={0,2}$/;

export const ZIamPolicy = z.object({
  version: z.union([z.literal(0), z.literal(1), z.literal(3)]).optional(),
  bindings: z.array(ZIamBinding).max(1500).optional(),
  etag: z.string().max(128).regex(ETAG, "etag must be the base64 string getIamPolicy returned").optional(),
  // Audit configs are not something Gatehouse keeps: an empty list is accepted, anything else refused.
  auditConfigs: z.array(z.unknown()).max(0, "auditConfigs are not supported").optional(),
});

export const ZGetIamPolicyRequest = z.object({
  options: z.object({ requestedPolicyVersion: z.union([z.literal(0), z.literal(1), z.literal(3)]).optional() }).optional(),
});

export const ZSetIamPolicyRequest = z.object({
  policy: ZIamPolicy,
  /** FieldMask: "bindings", "etag" (default "bindings,etag"); auditConfigs is not supported. */
  updateMask: z.string().max(256).optional(),
  /** Gatehouse extension: check everything, keep nothing, answer with the binding deltas. */
  dryRun: z.boolean().optional(),
});

export const ZTestIamPermissionsRequest = z.object({
  permissions: z
    .array(z.string().regex(/^[a-z][a-zA-Z0-9]*(\.[a-zA-Z0-9]+){2}$/, "permissions look like service.resource.verb (no wildcards)"))
    .max(100),
});

export type IamBinding = z.infer<typeof ZIamBinding>;
export interface IamPolicy {
  version: number;
  etag: string;
  bindings: Array<{ role: string; members: string[]; condition?: { title: string; description?: string; expression: string } }>;
}

/** What a resource without a stored policy has: no bindings, the etag of revision 0. */
const EMPTY_ETAG = etagFor(0n);
const WITHCOND = "_withcond_";

type Db = AdminContext["db"] | Prisma.TransactionClient;

async function storedPolicy(db: Db, resource: string): Promise<{ etag: string; bindings: PolicyBinding[] }> {
  const [row] = await readPolicies(db, [resource]);
  return row ? { etag: row.etag, bindings: row.bindings } : { etag: EMPTY_ETAG, bindings: [] };
}

function policyJson(p: { etag: string; bindings: PolicyBinding[] }, requestedVersion: number): IamPolicy {
  const conditional = p.bindings.some((b) => b.condition);
  if (!conditional || requestedVersion >= 3) return { version: conditional ? 3 : 1, etag: p.etag, bindings: p.bindings };
  // Version 1 cannot carry conditions: IAM names such bindings `{role}_withcond_{hash}`.
  return {
    version: 1,
    etag: p.etag,
    bindings: p.bindings.map((b) => {
      if (!b.condition) return b;
      const hash = createHash("sha256").update(`${b.condition.title}\n${b.condition.expression}`).digest("hex").slice(0, 20);
      return { role: `${b.role}${WITHCOND}${hash}`, members: b.members };
    }),
  };
}

/** The permission and existence check every policy method shares (rule 1: missing = refused). */
async function requireVisible(ctx: AdminContext, db: Db, resource: string, verb: "getIamPolicy" | "setIamPolicy"): Promise<string> {
  const permission = policyPermission(resource, verb);
  if (!permission) throw new AppError("INVALID_ARGUMENT", `${resource} is not a resource with an IAM policy`);
  if (ctx.actor.kind === "system") {
    if (!(await db.node.findUnique({ where: { name: resource }, select: { name: true } }))) throw new AppError("NOT_FOUND", `${resource} does not exist`);
    return permission;
  }
  const snapshot = ctx.engine?.current().snapshot;
  if (!snapshot?.nodes.has(resource) || !holds(snapshot, ctx.actor.principal, permission, resource, new Date())) throw permissionDenied(permission, resource);
  return permission;
}

export async function getIamPolicy(ctx: AdminContext, resource: string, input: unknown): Promise<IamPolicy> {
  const req = parse(ZGetIamPolicyRequest, input ?? {});
  await requireVisible(ctx, ctx.db, resource, "getIamPolicy");
  return policyJson(await storedPolicy(ctx.db, resource), req.options?.requestedPolicyVersion ?? 1);
}

export interface SetIamPolicyResult {
  /** The policy stored — for a dry run, the one that would be (with the current etag). */
  policy: IamPolicy;
  /**
   * The revision the change committed at: pass it as minRevision to see it on the decision path
   * at once. Null when nothing was written (a dry run, or no change).
   */
  revision: bigint | null;
  /** What changed (or would), as Google's BindingDelta list: additions first. */
  bindingDeltas: BindingDelta[];
  /** False when the policy already was exactly this: nothing was (or would be) written. */
  changed: boolean;
  dryRun: boolean;
}

export interface SetIamPolicyOptions {
  /** As `"dryRun": true` in the request: check everything, keep nothing. */
  dryRun?: boolean;
}

export async function setIamPolicy(ctx: AdminContext, resource: string, input: unknown, opts: SetIamPolicyOptions = {}): Promise<SetIamPolicyResult> {
  const req = parse(ZSetIamPolicyRequest, input);
  const dryRun = Boolean(opts.dryRun || req.dryRun);
  const mask = (req.updateMask ?? "bindings,etag").split(",").map((f) => f.trim()).filter(Boolean);
  for (const f of mask) {
    if (f === "auditConfigs") throw new AppError("INVALID_ARGUMENT", "updateMask: auditConfigs are not supported");
    if (!["bindings", "etag", "version"].includes(f)) throw new AppError("INVALID_ARGUMENT", `updateMask: unknown field ${JSON.stringify(f)}`);
  }
  const { value, revision } = await runMutation(ctx, async (m) => {
    await requireVisible(ctx, m.tx, resource, "setIamPolicy");
    // Read once, in the form the writer diffs against (a 1,000-member policy is read once per write).
    const read = await readPoliciesForWrite(m.tx, [resource]);
    const stored = read.get(resource)!;
    const current = { etag: stored.etag ?? EMPTY_ETAG, bindings: stored.bindings };
    if (req.policy.etag !== undefined && req.policy.etag !== current.etag) {
      throw new AppError("ABORTED", "There were concurrent policy changes. Please retry the whole read-modify-write with exponential backoff.");
    }
    if (req.policy.etag === undefined && current.bindings.some((b) => b.condition)) {
      throw new AppError(
        "FAILED_PRECONDITION",
        `The policy of ${resource} has conditional role bindings: a write without its etag could drop them unseen. Read it with requestedPolicyVersion 3 and send its etag.`,
      );
    }
    const bindings: PolicyBinding[] = mask.includes("bindings") ? mergeBindings((req.policy.bindings ?? []).map(toBinding)) : current.bindings;
    const withcond = bindings.findIndex((b) => b.role.includes(WITHCOND));
    if (withcond >= 0) {
      throw new AppError("INVALID_ARGUMENT", `bindings[${withcond}].role: ${bindings[withcond]!.role} comes from a version-1 read of a conditional policy; read it with requestedPolicyVersion 3`, [
        { path: `bindings[${withcond}].role`, message: "a _withcond_ role cannot be written" },
      ]);
    }
    const conditional = bindings.some((b) => b.condition);
    const version = conditional ? 3 : 1;
    if (conditional && req.policy.version !== undefined && req.policy.version !== 3) {
      throw new AppError("INVALID_ARGUMENT", "a policy with conditional role bindings must be version 3", [{ path: "policy.version", message: "must be 3" }]);
    }
    // The custom roles at the locked revision: the snapshot's when there is one (it is exactly the
    // stored state — the engine reached this revision and nobody else can write), else the rows.
    const customRoles = m.before ? [...m.before.customRoles.values()] : await m.tx.role.findMany({ where: { deleted: false }, select: { name: true, permissions: true } });
    throwIssues(validatePolicy({ resource, version, bindings }, { customRoles }).errors, "policy");
    const deltas = bindingDeltas(current, { bindings });
    if (deltas.length === 0 && sameOrder(bindings, current.bindings)) {
      return { policy: { version, etag: current.etag, bindings: current.bindings }, deltas, changed: false };
    }
    // RowWriter.setPolicy, with what was just read; its rows are written with the commit.
    await setPolicies(m.write, [{ resource, bindings, version }], read, m.commit);
    if (m.before) {
      // checkGrant reads from its `after` snapshot only identities (who a member covers) and
      // custom roles, which this mutation — one policy — leaves as they were: `before` serves,
      // and the change costs no reload.
      for (const d of deltas) if (d.action === "ADD") checkGrant(m.before, m.before, m.actor, { resource, role: d.role, member: d.member }, m.now);
    }
    m.audit({
      methodName: "SetIamPolicy",
      serviceName: policyService(resource),
      resourceName: resource,
      bindingDeltas: deltas,
      // The request less its bindings: a policy of 1,000 members is not hashed, shipped and
      // stored again in every record of a change to it. What changed is `bindingDeltas`; the
      // whole policy as stored at the record's revision is its PolicyVersion (lib/history).
      request: {
        policy: { ...(req.policy.version !== undefined ? { version: req.policy.version } : {}), ...(req.policy.etag !== undefined ? { etag: req.policy.etag } : {}) },
        ...(req.updateMask ? { updateMask: req.updateMask } : {}),
      },
    });
    return { policy: { version, etag: dryRun ? current.etag : etagFor(m.revision), bindings }, deltas, changed: true };
  }, { dryRun });
  return { policy: value.policy, revision, bindingDeltas: value.deltas, changed: value.changed, dryRun };
}

export async function testIamPermissions(ctx: AdminContext, resource: string, input: unknown): Promise<{ permissions: string[] }> {
  const req = parse(ZTestIamPermissionsRequest, input);
  if (ctx.actor.kind === "system") return { permissions: req.permissions };
  const snapshot = ctx.engine?.current().snapshot;
  // An unknown resource answers like one where the caller holds nothing: no existence oracle.
  if (!snapshot?.nodes.has(resource)) return { permissions: [] };
  const now = new Date();
  const principal = ctx.actor.principal;
  return { permissions: req.permissions.filter((p) => KNOWN_PERMISSIONS.has(p) && holds(snapshot, principal, p, resource, now)) };
}

/**
 * Whether two policies with no binding deltas between them (the same members under the same roles
 * and conditions) also list them in the same order — then storing one over the other changes nothing.
 */
function sameOrder(a: readonly PolicyBinding[], b: readonly PolicyBinding[]): boolean {
  return a.length === b.length && a.every((x, i) => canonicalJson(x.condition ?? null) === canonicalJson(b[i]!.condition ?? null) && x.role === b[i]!.role && x.members.length === b[i]!.members.length && x.members.every((m, j) => m === b[i]!.members[j]));
}

/** Bindings with the same role and condition are one binding (IAM merges them), at the first one's place. */
function mergeBindings(bindings: PolicyBinding[]): PolicyBinding[] {
  const out = new Map<string, PolicyBinding>();
  for (const b of bindings) {
    const key = JSON.stringify([b.role, b.condition?.title ?? null, b.condition?.description ?? null, b.condition?.expression ?? null]);
    const seen = out.get(key);
    if (seen) seen.members = [...new Set([...seen.members, ...b.members])];
    else out.set(key, { ...b, members: [...b.members] });
  }
  return [...out.values()];
}

function toBinding(b: IamBinding): PolicyBinding {
  return {
    role: b.role,
    // Members are stored canonically (emails lower-cased) and once; a malformed one is kept as
    // written for validatePolicy to name.
    members: [...new Set(b.members.map((m) => {
      const p = parseMember(m);
      return p.ok ? p.value.key : m;
    }))],
    ...(b.condition ? { condition: { title: b.condition.title, expression: b.condition.expression, ...(b.condition.description ? { description: b.condition.description } : {}) } } : {}),
  };
}
