// The audit trail's questions about the past, answered from policy history (lib/history/store.ts):
//
//   explainDecision — a data-access record re-evaluated against the snapshot at the revision it
//     was made at (group memberships, access levels, deny rules as they were then), with the
//     core's full trace, and whether that reproduces what was recorded.
//   accessAt — who could reach a resource at time T (its passage permission, at the revision in
//     force then), each with the binding, the group path, and the admin-activity record that
//     added that binding.
//
// Both read data-access logs of a resource, so both need `logging.privateLogEntries.list` on it
// (or an ancestor: the engine's inheritance), judged on the current snapshot. A resource that is
// gone now is judged on its nearest ancestor that still exists (its chain as history has it).
// A record or resource the caller may not see is refused exactly like a missing one.
import { z } from "zod";
import { evaluate, passagePermission, whoCan, type Decision, type GrantedBy, type Snapshot } from "@/lib/policy";
import { AppError } from "@/lib/errors";
import { storedDestination } from "@/lib/audit/entry";
import type { DataAccessLog } from "@/lib/generated/prisma/client";
import { revisionAt, snapshotAt, type SnapshotAt } from "@/lib/history/store";
import { permissionDenied } from "./authz";
import type { AdminContext } from "./context";
import { reader } from "./reader";
import { route } from "./routes";
import { parse } from "./validation";

/** Reading data-access logs (roles/logging.privateLogViewer, roles/owner). */
export const READ_DATA_ACCESS = "logging.privateLogEntries.list";

const ZInsertId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "an audit log entry's insertId");
const ZResource = z.string().min(1).max(1024).regex(/^[a-zA-Z][\w.~@/-]*$/, "a resource name");

/** How a history question is refused, whether the thing exists or not. */
const refusal = (name: string) => permissionDenied(READ_DATA_ACCESS, name);

function bootstrapAdmins(ctx: AdminContext): readonly string[] {
  return ctx.engine?.bootstrapAdmins ?? [];
}

/**
 * Throws `refusal` unless the actor may read `resource`'s data-access logs: on the resource when
 * it exists now, else on its nearest ancestor (as of `past`) that does.
 */
function requireLogReader(ctx: AdminContext, resource: string, past: Snapshot | null, refused: AppError): void {
  const r = reader(ctx);
  if (ctx.actor.kind === "system") return;
  const now = r.snapshot;
  if (!now) throw refused;
  const chain = now.nodes.get(resource)?.chain ?? past?.nodes.get(resource)?.chain ?? [];
  const target = chain.find((n) => now.nodes.has(n));
  if (target) {
    if (!r.can(READ_DATA_ACCESS, target)) throw refused;
    return;
  }
  // In no hierarchy (an unmapped host, a resource gone with all its ancestors): instance-wide readers only.
  try {
    r.requireInstance(READ_DATA_ACCESS);
  } catch {
    throw refused;
  }
}

/** What a data-access record holds of the check it answered (DataAccessLog). */
export interface RecordedDecision {
  insertId: string;
  timestamp: string;
  principal: string | null;
  resource: string;
  permission: string;
  granted: boolean;
  reason: string;
  callerIp: string | null;
  host: string | null;
  path: string | null;
  method: string | null;
  /** The client's region the decision used (null: none was reported). */
  regionCode: string | null;
  /** A tunnel check's target (null: none was given). */
  destination: { ip?: string; port?: number } | null;
  accessLevels: string[];
  unsatisfiedLevels: string[];
  decidedBy: unknown;
  revision: string;
  /** A trusted proxy's what-if time the check was evaluated at; null for a real request. */
  whatIfTime: string | null;
  status: unknown;
}

export interface DecisionExplanation {
  recorded: RecordedDecision;
  /** The revision and instant the check is evaluated at (the record's). */
  evaluatedAt: { revision: string; time: string };
  /** Whether history covers the record's revision; when not, `decision` is absent. */
  historyAvailable: boolean;
  /** The first revision history can replay (null: no history recorded yet). */
  historyStart: string | null;
  /** The core's decision with its full trace, at the record's revision. */
  decision?: Decision;
  /** Whether the re-evaluation gives what was recorded; null when it cannot be compared. */
  matches: boolean | null;
  /** What differs from the record (empty when it matches). */
  differences: string[];
  notes: string[];
}

function recordedOf(r: DataAccessLog): RecordedDecision {
  return {
    insertId: r.decisionId,
    timestamp: r.timestamp.toISOString(),
    principal: r.principal,
    resource: r.resourceName,
    permission: r.permission,
    granted: r.granted,
    reason: r.reason,
    callerIp: r.callerIp,
    host: r.host,
    path: r.path,
    method: r.method,
    regionCode: r.regionCode,
    destination: storedDestination(r.destination),
    accessLevels: r.accessLevels,
    unsatisfiedLevels: r.unsatisfiedLevels,
    decidedBy: r.decidedBy,
    revision: r.revision.toString(),
    whatIfTime: r.whatIfTime?.toISOString() ?? null,
    status: r.status,
  };
}

/** JSON with sorted keys: the record's decidedBy went through jsonb, which reorders keys. */
function canonical(v: unknown): string {
  return JSON.stringify(v ?? null, (_k, x: unknown) =>
    x && typeof x === "object" && !Array.isArray(x) ? Object.fromEntries(Object.entries(x as Record<string, unknown>).filter(([, y]) => y !== undefined).sort(([a], [b]) => a.localeCompare(b))) : x,
  );
}

function compare(rec: RecordedDecision, d: Decision): string[] {
  const out: string[] = [];
  if (rec.granted !== d.allowed) out.push(`recorded ${rec.granted ? "allowed" : "denied"}, re-evaluated ${d.allowed ? "allowed" : "denied"}`);
  if (rec.reason !== d.reason) out.push(`recorded reason ${rec.reason}, re-evaluated ${d.reason}`);
  if (rec.permission !== d.permission) out.push(`recorded permission ${rec.permission}, re-evaluated ${d.permission}`);
  if (canonical(rec.decidedBy) !== canonical(d.grantedBy ?? d.deniedBy ?? null)) out.push("the deciding binding or rule differs");
  const sameSet = (a: readonly string[], b: readonly string[]) => a.length === b.length && [...a].sort().join("\n") === [...b].sort().join("\n");
  if (!sameSet(rec.accessLevels, d.accessLevels.satisfied)) out.push("the satisfied access levels differ");
  if (!sameSet(rec.unsatisfiedLevels, d.accessLevels.unsatisfied)) out.push("the unsatisfied access levels differ");
  return out;
}

/** GET /api/v1/auditLogs/{insertId}:explain */
export async function explainDecision(ctx: AdminContext, insertId: string): Promise<DecisionExplanation> {
  const id = parse(ZInsertId, insertId);
  const refused = refusal(`auditLogs/${id}`);
  const row = await ctx.db.dataAccessLog.findUnique({ where: { decisionId: id } });
  if (!row) {
    // Judged all the same (an absent record is refused exactly like a hidden one).
    if (ctx.actor.kind === "system") throw new AppError("NOT_FOUND", `no data-access entry ${id}`);
    throw refused;
  }
  const past: SnapshotAt = await snapshotAt(ctx.db, row.revision, bootstrapAdmins(ctx));
  requireLogReader(ctx, row.resourceName, past.ok ? past.snapshot : null, refused);

  const recorded = recordedOf(row);
  const time = row.whatIfTime ?? row.timestamp;
  const base = {
    recorded,
    evaluatedAt: { revision: recorded.revision, time: time.toISOString() },
    historyStart: past.ok ? null : (past.historyStart?.toString() ?? null),
  };
  if (!past.ok) {
    const why =
      past.historyStart === null || row.revision < past.historyStart
        ? `Policy history ${past.historyStart === null ? "has not begun yet" : `begins at revision ${past.historyStart}`}; this decision was made at revision ${recorded.revision}, before it, so it cannot be re-evaluated. Nothing is guessed.`
        : `Revision ${recorded.revision} is not in this database's history.`;
    return { ...base, historyAvailable: false, matches: null, differences: [], notes: [why] };
  }
  const notes: string[] = [];
  if (row.whatIfTime) notes.push(`A what-if check: evaluated at ${recorded.whatIfTime}, the time the proxy asked about.`);
  const decision = evaluate(past.snapshot, {
    principal: row.principal,
    resource: row.resourceName,
    permission: row.permission,
    request: {
      time,
      ...(row.host !== null ? { host: row.host } : {}),
      ...(row.path !== null ? { path: row.path } : {}),
      method: row.method ?? "GET",
      ...(row.callerIp !== null ? { ip: row.callerIp } : {}),
      ...(row.regionCode !== null ? { regionCode: row.regionCode } : {}),
    },
    ...(recorded.destination ? { destination: recorded.destination } : {}),
    explain: true,
  });
  const status = row.status as { code?: number; message?: string } | null;
  if (status?.code === 16) {
    // The identity was refused before policy was consulted; token checks are not replayed.
    notes.push(`The presented token was not accepted (${status.message ?? "unauthenticated"}): the request was denied before policy was consulted. The trace shows policy for an anonymous caller.`);
    return { ...base, historyAvailable: true, historyStart: null, decision, matches: null, differences: [], notes };
  }
  const differences = compare(recorded, decision);
  return { ...base, historyAvailable: true, historyStart: null, decision, matches: differences.length === 0, differences, notes };
}

/** The admin-activity record that added a binding's member (AdminActivityLog). */
export interface AddedBy {
  insertId: string;
  actor: string;
  timestamp: string;
  methodName: string;
  revision: string;
}

export interface AccessAtEntry {
  principal: string;
  grantedBy: GrantedBy;
  /** Groups from the principal to the binding's group member, outermost last (empty: bound directly). */
  groupPath: string[];
  /** Null when no admin-activity record at or before the revision added it (e.g. before history). */
  addedBy: AddedBy | null;
}

export interface AccessAtBinding {
  grantedBy: GrantedBy;
  conditional: boolean;
  inherited: boolean;
  addedBy: AddedBy | null;
}

export interface AccessAtResult {
  resource: string;
  permission: string;
  time: string;
  /** The revision in force at `time` (the last committed at or before it). */
  revision: string;
  revisionCommittedAt: string | null;
  historyAvailable: boolean;
  historyStart: string | null;
  /** The request the conditions were evaluated for. */
  request: { host: string | null; path: string; method: string };
  blocked?: "UNKNOWN_RESOURCE" | "IAP_DISABLED";
  /** Principals `evaluate` allowed at that revision and time, with who gave them access. */
  principals: AccessAtEntry[];
  /** Every binding on the resource or an ancestor whose role holds the permission (groups, domains, allUsers…). */
  bindings: AccessAtBinding[];
  anonymous: boolean;
  notes: string[];
}

export const ZAccessAtQuery = z.strictObject({
  time: z.iso.datetime({ offset: true }),
  permission: z.string().max(256).optional(),
  host: z.string().max(255).optional(),
  path: z.string().max(8192).startsWith("/").optional(),
  method: z.string().regex(/^[A-Za-z]{1,20}$/).optional(),
});
export type AccessAtQuery = z.infer<typeof ZAccessAtQuery>;

/** Groups from `principal` up to `group` (a group key), via direct memberships in `s`; [] when none. */
export function groupPath(s: Snapshot, principal: string, group: string): string[] {
  // Breadth-first from the principal upwards: parents of each key are the groups listing it.
  const parents = new Map<string, string[]>();
  for (const g of s.groups.values()) {
    for (const m of g.members) {
      const list = parents.get(m) ?? [];
      list.push(`group:${g.email}`);
      parents.set(m, list);
    }
  }
  const from = new Map<string, string | null>([[principal, null]]);
  const queue = [principal];
  while (queue.length) {
    const k = queue.shift()!;
    if (k === group) {
      const path: string[] = [];
      for (let c: string | null = k; c !== null && c !== principal; c = from.get(c) ?? null) path.unshift(c);
      return path;
    }
    for (const p of parents.get(k) ?? []) {
      if (!from.has(p)) {
        from.set(p, k);
        queue.push(p);
      }
    }
  }
  return [];
}

/** The latest ADD of (resource, role, member) at or before `revision`, from the admin-activity log. */
async function addedByIndex(ctx: AdminContext, resources: readonly string[], revision: bigint): Promise<(g: GrantedBy) => AddedBy | null> {
  if (resources.length === 0) return () => null;
  const rows = await ctx.db.$queryRawUnsafe<{ insertId: string; actor: string; timestamp: Date; methodName: string; revision: bigint; resourceName: string; deltas: string }[]>(
    `SELECT "insertId", actor, timestamp, "methodName", revision, "resourceName", "bindingDeltas"::text AS deltas FROM "AdminActivityLog"
     WHERE "resourceName" IN (SELECT json_array_elements_text($1::json)) AND revision <= $2::bigint
       AND "bindingDeltas" @> '[{"action":"ADD"}]'::jsonb ORDER BY revision DESC, seq DESC`,
    JSON.stringify(resources),
    revision.toString(),
  );
  const found = new Map<string, AddedBy>();
  const key = (resource: string, role: string, member: string, condition: string | undefined) => JSON.stringify([resource, role, member, condition ?? null]);
  for (const r of rows) {
    for (const d of JSON.parse(r.deltas) as { action: string; role: string; member: string; condition?: { title?: string } }[]) {
      if (d.action !== "ADD") continue;
      const k = key(r.resourceName, d.role, d.member, d.condition?.title);
      if (!found.has(k)) found.set(k, { insertId: r.insertId, actor: r.actor, timestamp: r.timestamp.toISOString(), methodName: r.methodName, revision: BigInt(r.revision).toString() });
    }
  }
  return (g) => found.get(key(g.resource, g.role, g.member, g.condition)) ?? null;
}

/** GET /api/v1/{resource}:accessAt?time=… */
export async function accessAt(ctx: AdminContext, resourceName: string, input: unknown): Promise<AccessAtResult> {
  const resource = parse(ZResource, resourceName);
  const q = parse(ZAccessAtQuery, input);
  const time = new Date(q.time);
  const refused = refusal(resource);
  const at = await revisionAt(ctx.db, time);
  const past = await snapshotAt(ctx.db, at.revision, bootstrapAdmins(ctx));
  requireLogReader(ctx, resource, past.ok ? past.snapshot : null, refused);

  const base = {
    resource,
    time: time.toISOString(),
    revision: at.revision.toString(),
    revisionCommittedAt: at.committedAt?.toISOString() ?? null,
    principals: [] as AccessAtEntry[],
    bindings: [] as AccessAtBinding[],
    anonymous: false,
  };
  if (!past.ok) {
    return {
      ...base,
      permission: q.permission ?? "",
      historyAvailable: false,
      historyStart: past.historyStart?.toString() ?? null,
      request: { host: q.host ?? null, path: q.path ?? "/", method: (q.method ?? "GET").toUpperCase() },
      notes: [
        past.historyStart === null
          ? "Policy history has not begun yet: nothing can be said about that time."
          : `Policy history begins at revision ${past.historyStart}; at ${base.time} revision ${base.revision} was in force, before it. Nothing is guessed.`,
      ],
    };
  }
  const s = past.snapshot;
  const node = s.nodes.get(resource);
  const permission = q.permission ?? (node ? (passagePermission(node.type) ?? undefined) : undefined);
  const request = { host: q.host ?? node?.hosts[0] ?? null, path: q.path ?? "/", method: (q.method ?? "GET").toUpperCase() };
  const who = whoCan(s, resource, permission, { request: { time, ...(request.host ? { host: request.host } : {}), path: request.path, method: request.method } });
  const addedBy = await addedByIndex(ctx, [...new Set(who.members.map((m) => m.grantedBy.resource))], at.revision);
  const notes: string[] = [];
  if (who.blocked === "UNKNOWN_RESOURCE") notes.push(`${resource} did not exist at revision ${base.revision}.`);
  if (who.blocked === "IAP_DISABLED") notes.push(`IAP was off for ${resource} at revision ${base.revision}: Gatehouse did not protect it then.`);
  if (who.members.some((m) => m.conditional)) notes.push(`Conditions were evaluated for a ${request.method} request to ${request.host ?? "(any host)"}${request.path} at ${base.time}.`);
  return {
    ...base,
    permission: who.permission,
    historyAvailable: true,
    historyStart: null,
    request,
    ...(who.blocked ? { blocked: who.blocked } : {}),
    principals: who.principals.map((p) => ({
      principal: p.principal,
      grantedBy: p.grantedBy,
      groupPath: p.grantedBy.member.startsWith("group:") ? groupPath(s, p.principal, p.grantedBy.member) : [],
      addedBy: addedBy(p.grantedBy),
    })),
    bindings: who.members.map((m) => ({ grantedBy: m.grantedBy, conditional: m.conditional, inherited: m.inherited, addedBy: addedBy(m.grantedBy) })),
    anonymous: who.anonymous,
    notes,
  };
}

const ZGrantedBy = z.object({ resource: z.string(), role: z.string(), member: z.string(), condition: z.string().optional() });
const ZAddedBy = z.object({ insertId: z.string(), actor: z.string(), timestamp: z.string(), methodName: z.string(), revision: z.string() }).nullable();

export const auditHistoryRoutes = [
  route({
    method: "GET",
    path: "/api/v1/auditLogs/{insertId}:explain",
    tag: "Audit",
    summary:
      "Explains a data-access entry: its check re-evaluated against the policy as it was at the entry's revision (groups, access levels, deny rules then), with the full trace, and whether that reproduces the record. Needs logging.privateLogEntries.list on the entry's resource.",
    response: z.object({
      recorded: z.record(z.string(), z.unknown()),
      evaluatedAt: z.object({ revision: z.string(), time: z.string() }),
      historyAvailable: z.boolean(),
      historyStart: z.string().nullable(),
      decision: z.record(z.string(), z.unknown()).optional(),
      matches: z.boolean().nullable(),
      differences: z.array(z.string()),
      notes: z.array(z.string()),
    }),
    handler: async (ctx, req) => ({ body: await explainDecision(ctx, req.params.insertId!) }),
  }),
  route({
    method: "GET",
    path: "/api/v1/{resource=**}:accessAt",
    tag: "Audit",
    summary:
      "Who could reach a resource at a past time: the principals holding its passage permission (or `permission`) at the revision in force at `time`, each with the binding, the group path and the admin-activity record that added it. Needs logging.privateLogEntries.list on the resource.",
    query: ZAccessAtQuery,
    response: z.object({
      resource: z.string(),
      permission: z.string(),
      time: z.string(),
      revision: z.string(),
      historyAvailable: z.boolean(),
      principals: z.array(z.object({ principal: z.string(), grantedBy: ZGrantedBy, groupPath: z.array(z.string()), addedBy: ZAddedBy })),
      bindings: z.array(z.object({ grantedBy: ZGrantedBy, conditional: z.boolean(), inherited: z.boolean(), addedBy: ZAddedBy })),
      anonymous: z.boolean(),
      notes: z.array(z.string()),
    }),
    handler: async (ctx, req) => ({ body: await accessAt(ctx, req.params.resource!, req.query) }),
  }),
];
