// The IAP panel's edits, as read-modify-writes through lib/admin/policies.ts (getIamPolicy, then
// setIamPolicy with the etag the page was rendered with): the engine authorises, the core
// validates, runMutation records. Nothing here writes on its own. No Next.js: the server actions
// in app/(console)/iap/actions.ts call these with the session's AdminContext, and the
// integration tests call them directly.
//
// A conflict (the policy changed since the page was read) is never overwritten: the answer says
// what the other change was (binding deltas between the version the page showed and the current
// one) and the panel offers a reload.
import { z } from "zod";
import { getIamPolicy, setIamPolicy, type IamPolicy } from "@/lib/admin/policies";
import { bindingDeltas, type BindingDelta } from "@/lib/audit/admin";
import { holds, permissionDenied } from "@/lib/admin/authz";
import { policyPermission } from "@/lib/admin/permissions";
import { parse } from "@/lib/admin/validation";
import type { AdminContext } from "@/lib/admin/context";
import { AppError, type ErrorDetail } from "@/lib/errors";
import { compileCondition, parseMember, PREDEFINED_ROLE_MAP, type Snapshot } from "@/lib/policy";

const ETAG = z.string().max(128).regex(/^[A-Za-z0-9+/]+={0,2}$/, "etag must be the one read with the page");
const RESOURCE = z.string().min(1).max(1024);

const ZCondition = z.strictObject({
  title: z.string().trim().min(1, "a condition needs a title").max(100),
  description: z.string().max(256).optional(),
  expression: z.string().min(1, "write an expression or choose what to allow").max(4096),
});

export const ZAddPrincipals = z.strictObject({
  targets: z.array(z.strictObject({ resource: RESOURCE, etag: ETAG })).min(1).max(20),
  members: z.array(z.string().trim().min(1).max(512)).min(1, "add at least one principal").max(100),
  role: z.string().min(1, "choose a role").max(256),
  condition: ZCondition.optional(),
});
export type AddPrincipalsInput = z.infer<typeof ZAddPrincipals>;

export const ZRemovePrincipal = z.strictObject({
  resource: RESOURCE,
  etag: ETAG,
  role: z.string().min(1).max(256),
  member: z.string().min(1).max(512),
  condition: z.strictObject({ title: z.string().max(100), description: z.string().max(256).optional(), expression: z.string().max(4096) }).optional(),
});
export type RemovePrincipalInput = z.infer<typeof ZRemovePrincipal>;

export interface Conflict {
  resource: string;
  /** What changed between the version the page showed and the current one. */
  changes: BindingDelta[];
}

export interface EditResult {
  /** Each policy written, with its new etag (a target left as it was keeps its etag). */
  written: Array<{ resource: string; etag: string; revision: string | null }>;
  /** Set when a target changed since the page read it: nothing was written to that target (nor to those after it). */
  conflict?: Conflict;
}

type Condition = NonNullable<IamPolicy["bindings"][number]["condition"]>;

const sameCondition = (a: Condition | undefined, b: Condition | undefined) =>
  (a?.title ?? null) === (b?.title ?? null) && (a?.expression ?? null) === (b?.expression ?? null) && (a?.description ?? null) === (b?.description ?? null);

function snapshotOf(ctx: AdminContext): Snapshot | null {
  return ctx.engine?.current().snapshot ?? null;
}

/** The revision an etag names (etags are the base64 of the policy's 8-byte revision). */
function etagRevision(etag: string): bigint | null {
  const b = Buffer.from(etag, "base64");
  return b.length === 8 ? b.readBigUInt64BE() : null;
}

/** The other change: deltas from the stored version at the page's etag to the current policy. */
async function conflictOf(ctx: AdminContext, resource: string, pageEtag: string, current: IamPolicy): Promise<Conflict> {
  const rev = etagRevision(pageEtag);
  const then =
    rev === null
      ? null
      : await ctx.db.policyVersion.findFirst({ where: { resourceName: resource, revision: { lte: rev } }, orderBy: { revision: "desc" }, select: { bindings: true } });
  const before = { bindings: (then?.bindings ?? []) as IamPolicy["bindings"] };
  return { resource, changes: bindingDeltas(before, current) };
}

/** Field-level checks before the write, so each problem shows next to its control (setIamPolicy checks everything again). */
function precheck(input: AddPrincipalsInput, snapshot: Snapshot | null): void {
  const details: ErrorDetail[] = [];
  input.members.forEach((m, i) => {
    const p = parseMember(m);
    if (!p.ok) details.push({ path: `members[${i}]`, message: `${m}: ${p.error}` });
    else if (p.value.kind === "deleted") details.push({ path: `members[${i}]`, message: "a deleted principal cannot be granted a role" });
  });
  if (!PREDEFINED_ROLE_MAP.has(input.role) && !snapshot?.customRoles.has(input.role)) details.push({ path: "role", message: `unknown role ${input.role}` });
  if (input.condition) {
    const c = compileCondition(input.condition.expression, "iam");
    if (!c.ok) for (const e of c.errors) details.push({ path: "condition.expression", message: e.line !== undefined ? `${e.line}:${e.column}: ${e.message}` : e.message });
  }
  if (details.length) throw new AppError("INVALID_ARGUMENT", details[0]!.message, details);
}

async function readForWrite(ctx: AdminContext, resource: string): Promise<IamPolicy> {
  return getIamPolicy(ctx, resource, { options: { requestedPolicyVersion: 3 } });
}

/** Writes `bindings` onto `resource` with the page's etag; a race lost after the read is a conflict too. */
async function write(ctx: AdminContext, resource: string, etag: string, bindings: IamPolicy["bindings"]): Promise<{ etag: string; revision: string | null } | { conflict: Conflict }> {
  try {
    const r = await setIamPolicy(ctx, resource, { policy: { version: 3, etag, bindings } });
    return { etag: r.policy.etag, revision: r.revision?.toString() ?? null };
  } catch (err) {
    if (err instanceof AppError && err.code === "ABORTED") return { conflict: await conflictOf(ctx, resource, etag, await readForWrite(ctx, resource)) };
    throw err;
  }
}

/** Grants `role` (with the optional condition) to `members` on every target, in order. */
export async function addPrincipals(ctx: AdminContext, input: unknown): Promise<EditResult> {
  const req = parse(ZAddPrincipals, input);
  precheck(req, snapshotOf(ctx));
  const members = req.members.map((m) => {
    const p = parseMember(m);
    return p.ok ? p.value.key : m;
  });
  const condition = req.condition ? { title: req.condition.title, expression: req.condition.expression, ...(req.condition.description ? { description: req.condition.description } : {}) } : undefined;
  const written: EditResult["written"] = [];
  for (const { resource, etag } of req.targets) {
    const current = await readForWrite(ctx, resource);
    if (current.etag !== etag) return { written, conflict: await conflictOf(ctx, resource, etag, current) };
    const bindings = current.bindings.map((b) => ({ ...b, members: [...b.members] }));
    const same = bindings.find((b) => b.role === req.role && sameCondition(b.condition, condition));
    if (same) same.members = [...new Set([...same.members, ...members])];
    else bindings.push({ role: req.role, members, ...(condition ? { condition } : {}) });
    const r = await write(ctx, resource, etag, bindings);
    if ("conflict" in r) return { written, conflict: r.conflict };
    written.push({ resource, ...r });
  }
  return { written };
}

/** Removes one member from one binding (the binding goes when it has no member left). */
export async function removePrincipal(ctx: AdminContext, input: unknown): Promise<EditResult> {
  const req = parse(ZRemovePrincipal, input);
  const current = await readForWrite(ctx, req.resource);
  if (current.etag !== req.etag) return { written: [], conflict: await conflictOf(ctx, req.resource, req.etag, current) };
  const binding = current.bindings.find((b) => b.role === req.role && sameCondition(b.condition, req.condition));
  if (!binding?.members.includes(req.member)) throw new AppError("NOT_FOUND", `${req.member} does not hold ${req.role}${req.condition ? ` with condition “${req.condition.title}”` : ""} on ${req.resource}`);
  const bindings = current.bindings.flatMap((b) => (b === binding ? (b.members.length > 1 ? [{ ...b, members: b.members.filter((m) => m !== req.member) }] : []) : [b]));
  const r = await write(ctx, req.resource, req.etag, bindings);
  if ("conflict" in r) return { written: [], conflict: r.conflict };
  return { written: [{ resource: req.resource, ...r }] };
}

// ————————————————————————————————————————————————————————— principal autocomplete

export type PrincipalKind = "user" | "group" | "serviceAccount" | "domain";

export interface PrincipalSuggestion {
  member: string;
  kind: PrincipalKind;
  label: string;
  disabled?: boolean;
}

export const ZSearchPrincipals = z.strictObject({ resource: RESOURCE, query: z.string().max(256) });

const directories = new WeakMap<Snapshot, PrincipalSuggestion[]>();

/** Every user, service account, group and domain the snapshot knows, sorted; built once per snapshot. */
function directory(s: Snapshot): PrincipalSuggestion[] {
  let d = directories.get(s);
  if (d) return d;
  const out: PrincipalSuggestion[] = [];
  const domains = new Set<string>();
  for (const p of s.principals.values()) {
    const kind = p.member.startsWith("serviceAccount:") ? "serviceAccount" : "user";
    out.push({ member: p.member, kind, label: p.displayName ?? "", ...(p.disabled ? { disabled: true } : {}) });
    if (kind === "user") domains.add(p.member.slice(p.member.indexOf("@") + 1));
  }
  for (const key of s.groups.keys()) out.push({ member: key, kind: "group", label: "" });
  for (const policy of s.policies.values()) for (const b of policy.bindings) for (const m of b.members) if (m.startsWith("domain:")) domains.add(m.slice(7));
  for (const dom of domains) out.push({ member: `domain:${dom}`, kind: "domain", label: "Everyone with an account in this domain" });
  out.sort((a, b) => a.member.localeCompare(b.member));
  directories.set(s, (d = out));
  return d;
}

/**
 * Up to `limit` principals matching `query` (member or display name; members starting with it
 * first). Only for someone who may set the policy of `resource`: the directory is what they grant from.
 */
export function searchPrincipals(ctx: AdminContext, input: unknown, limit = 20): PrincipalSuggestion[] {
  const req = parse(ZSearchPrincipals, input);
  const s = snapshotOf(ctx);
  const permission = policyPermission(req.resource, "setIamPolicy") ?? "resourcemanager.projects.setIamPolicy";
  if (ctx.actor.kind !== "system" && (!s?.nodes.has(req.resource) || !holds(s, ctx.actor.principal, permission, req.resource, new Date()))) {
    throw permissionDenied(permission, req.resource);
  }
  if (!s) return [];
  const q = req.query.trim().toLowerCase();
  const prefix: PrincipalSuggestion[] = [];
  const rest: PrincipalSuggestion[] = [];
  for (const e of directory(s)) {
    const local = e.member.slice(e.member.indexOf(":") + 1);
    if (!q || local.startsWith(q) || e.member.startsWith(q)) prefix.push(e);
    else if (local.includes(q) || e.label.toLowerCase().includes(q)) rest.push(e);
    if (prefix.length >= limit) break;
  }
  return [...prefix, ...rest].slice(0, limit);
}

// ————————————————————————————————————————————————————————— condition check

export interface ConditionCheck {
  ok: boolean;
  errors: Array<{ message: string; offset?: number; line?: number; column?: number }>;
}

/** The core's own compiler on an expression (the one setIamPolicy validates with): errors with their position. */
export function checkCondition(expression: unknown): ConditionCheck {
  const e = parse(z.string().max(4096, "expressions are at most 4,096 characters"), expression);
  const r = compileCondition(e, "iam");
  return r.ok ? { ok: true, errors: [] } : { ok: false, errors: r.errors.map(({ message, offset, line, column }) => ({ message, offset, line, column })) };
}
