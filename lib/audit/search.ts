// Reading the audit trail (DESIGN.md §6, Audit API): one query path for the API's list, its
// export and the console's audit pages.
//
// Authorisation, as Cloud Logging's: data access needs logging.privateLogEntries.list, admin
// activity logging.logEntries.list, and a reader sees the entries of the part of the hierarchy
// they hold it on — on every organization (or as an instance owner): everything, including what
// belongs to the whole instance (groups, users, access policies); otherwise the nodes they hold it
// on, and records of resources unknown to the hierarchy that lie textually under a container they
// hold it on (a decision about `projects/a/iap_web/compute/services/gone`).
//
// Paging: newest first, keyset on (timestamp, seq) — no OFFSET, no COUNT(*). A page token is the
// key of the last entry returned, bound to the stream and filters it was issued for and signed
// (HMAC), so a forged or edited token, or one replayed with other filters, is INVALID_ARGUMENT.
//
// Every read is itself recorded in the data-access stream (methodName ListLogEntries), granted or
// refused, through the context's access log.
import crypto from "node:crypto";
import { z } from "zod";
import { Prisma } from "@/lib/generated/prisma/client";
import { AppError } from "@/lib/errors";
import { REASONS } from "@/lib/policy/types";
import type { AdminContext } from "@/lib/admin/context";
import { reader } from "@/lib/admin/reader";
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from "@/lib/admin/paging";
import { newDecisionId } from "./decisions";
import { adminActivityEntry, dataAccessEntry, type AdminActivityRow, type AuditLogEntry, type AuditStream, type DataAccessRow } from "./entry";

export const READ_PERMISSION: Record<AuditStream, string> = {
  data_access: "logging.privateLogEntries.list",
  admin_activity: "logging.logEntries.list",
};

/** Absent query parameters and empty form fields mean the same: no filter. */
const opt = <T extends z.ZodType>(s: T) => z.preprocess((v) => (v === "" ? undefined : v), s.optional());
const rfc3339 = z.iso.datetime({ offset: true, error: "must be an RFC 3339 time (2026-12-01T09:00:00Z)" });

export const ZAuditFilter = z.object({
  stream: z.enum(["data_access", "admin_activity"], { error: "must be data_access or admin_activity" }),
  /** A member string (`user:alice@example.com`) or an email. */
  principal: opt(z.string().max(320)),
  /** A resource name: entries of it and of everything below it. */
  resource: opt(z.string().max(1024)),
  permission: opt(z.string().max(256)),
  granted: opt(z.enum(["true", "false"]).transform((v) => v === "true")),
  reason: opt(z.enum(REASONS)),
  /** protoPayload.methodName: SetIamPolicy, AuthorizeUser, ListLogEntries… */
  method: opt(z.string().max(128).regex(/^[A-Za-z][A-Za-z0-9.]*$/, "must be a method name such as SetIamPolicy")),
  startTime: opt(rfc3339),
  endTime: opt(rfc3339),
  /** Text found in the principal, resource, path, host or insertId (case-insensitive). */
  q: opt(z.string().max(256)),
});
export type AuditFilter = z.infer<typeof ZAuditFilter>;

export const ZAuditListQuery = ZAuditFilter.extend({
  pageSize: z.preprocess((v) => (v === "" ? undefined : v), z.coerce.number().int().min(1).max(MAX_PAGE_SIZE).default(DEFAULT_PAGE_SIZE)),
  pageToken: opt(z.string().max(1024)),
}).strict();
export type AuditListQuery = z.infer<typeof ZAuditListQuery>;

export const ZAuditExportQuery = ZAuditFilter.extend({
  format: z.enum(["ndjson", "csv"]).default("ndjson"),
}).strict();
export type AuditExportQuery = z.infer<typeof ZAuditExportQuery>;

/** Filters that only the data-access stream records. */
const DATA_ACCESS_ONLY = ["permission", "granted", "reason"] as const;

/** What the reader may see: everything, or these nodes and unknown names under these containers. */
type Scope = { all: true } | { all: false; nodes: ReadonlySet<string>; containers: string[] };

interface Key {
  t: string;
  s: string;
}

/** A read's table and conditions. */
interface Plan {
  stream: AuditStream;
  where: Prisma.Sql[];
}

function likePrefix(name: string): string {
  return `${name.replace(/[\\%_]/g, (c) => `\\${c}`)}/%`;
}

function denied(permission: string, resource: string): AppError {
  return new AppError("PERMISSION_DENIED", `Permission '${permission}' denied on resource '${resource}' (or it may not exist).`);
}

function scopeOf(ctx: AdminContext, permission: string): Scope {
  const r = reader(ctx);
  try {
    r.requireInstance(permission);
    return { all: true };
  } catch {
    // Not instance-wide: the nodes they hold it on.
  }
  const s = r.snapshot;
  const nodes = s ? [...s.nodes.keys()].filter((n) => r.can(permission, n)) : [];
  if (nodes.length === 0) throw denied(permission, "gatehouse");
  return { all: false, nodes: new Set(nodes), containers: nodes.filter((n) => /^(organizations|folders|projects)\/[^/]+$/.test(n)) };
}

/** Whether a scoped reader may name `resource` in a filter: a node they see, or an unknown name under a container they see. */
function mayName(scope: Scope, resource: string, known: boolean): boolean {
  if (scope.all) return true;
  return known ? scope.nodes.has(resource) : scope.containers.some((c) => resource.startsWith(`${c}/`));
}

/** The filter's resource and everything below it in the hierarchy. */
function subtree(ctx: AdminContext, resource: string): string[] {
  const s = reader(ctx).snapshot;
  const out = [resource];
  if (!s) return out;
  for (let i = 0; i < out.length; i++) out.push(...(s.children.get(out[i]!) ?? []));
  return out;
}

function normalisedPrincipal(stream: AuditStream, p: string): string {
  const t = p.trim();
  // Admin activity names the actor by email (or system:…); data access by member string.
  if (stream === "admin_activity") return /^(user|serviceAccount):/.test(t) ? t.slice(t.indexOf(":") + 1).toLowerCase() : t.toLowerCase();
  return /^[a-zA-Z]+:/.test(t) ? `${t.slice(0, t.indexOf(":"))}:${t.slice(t.indexOf(":") + 1).toLowerCase()}` : `user:${t.toLowerCase()}`;
}

function plan(ctx: AdminContext, f: AuditFilter, scope: Scope): Plan {
  const stream = f.stream;
  const where: Prisma.Sql[] = [];
  if (stream === "admin_activity") {
    for (const k of DATA_ACCESS_ONLY) if (f[k] !== undefined) throw new AppError("INVALID_ARGUMENT", `${k}: only the data_access stream records it`, [{ path: k, message: "only the data_access stream records it" }]);
  }
  if (f.startTime && f.endTime && Date.parse(f.startTime) > Date.parse(f.endTime)) {
    throw new AppError("INVALID_ARGUMENT", "endTime: must not be before startTime", [{ path: "endTime", message: "must not be before startTime" }]);
  }
  if (!scope.all) {
    where.push(
      Prisma.sql`("resourceName" = ANY(${[...scope.nodes]}::text[]) OR ("resourceName" LIKE ANY(${scope.containers.map(likePrefix)}::text[]) AND NOT EXISTS (SELECT 1 FROM "Node" n WHERE n.name = "resourceName")))`,
    );
  }
  if (f.resource !== undefined) {
    const s = reader(ctx).snapshot;
    const known = s?.nodes.has(f.resource) ?? false;
    // A scoped reader names only what they may see (or an unknown name under it): else refused
    // exactly as a resource that does not exist.
    if (!mayName(scope, f.resource, known)) throw denied(READ_PERMISSION[stream], f.resource);
    const names = known ? subtree(ctx, f.resource) : [f.resource];
    // Names the hierarchy does not know lie textually under the resource or a container below it.
    const prefixes = [f.resource, ...names.filter((n) => /^(folders|projects)\/[^/]+$/.test(n))].map(likePrefix);
    where.push(Prisma.sql`("resourceName" = ANY(${names}::text[]) OR "resourceName" LIKE ANY(${prefixes}::text[]))`);
  }
  if (f.principal !== undefined) {
    const p = normalisedPrincipal(stream, f.principal);
    where.push(stream === "admin_activity" ? Prisma.sql`"actor" = ${p}` : Prisma.sql`"principal" = ${p}`);
  }
  if (f.method !== undefined) {
    if (stream === "admin_activity") where.push(Prisma.sql`"methodName" = ${f.method}`);
    else if (f.method === "ListLogEntries") where.push(Prisma.sql`"permission" LIKE 'logging.%'`);
    else if (f.method === "AuthorizeUser") where.push(Prisma.sql`"permission" NOT LIKE 'logging.%'`);
    else where.push(Prisma.sql`FALSE`);
  }
  if (f.permission !== undefined) where.push(Prisma.sql`"permission" = ${f.permission}`);
  if (f.granted !== undefined) where.push(Prisma.sql`"granted" = ${f.granted}`);
  if (f.reason !== undefined) where.push(Prisma.sql`"reason" = ${f.reason}`);
  if (f.startTime !== undefined) where.push(Prisma.sql`"timestamp" >= ${new Date(f.startTime).toISOString()}::timestamp(3)`);
  if (f.endTime !== undefined) where.push(Prisma.sql`"timestamp" < ${new Date(f.endTime).toISOString()}::timestamp(3)`);
  if (f.q !== undefined && f.q.trim() !== "") {
    const like = `%${f.q.trim().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    where.push(
      stream === "admin_activity"
        ? Prisma.sql`("actor" ILIKE ${like} OR "resourceName" ILIKE ${like} OR "methodName" ILIKE ${like} OR "insertId" = ${f.q.trim()})`
        : Prisma.sql`("principal" ILIKE ${like} OR "resourceName" ILIKE ${like} OR "path" ILIKE ${like} OR "host" ILIKE ${like} OR "decisionId" = ${f.q.trim()})`,
    );
  }
  return { stream, where };
}

/** A stored row: its columns and its key. */
type StoredRow = (AdminActivityRow | DataAccessRow) & { seq: bigint };

async function fetchRows(ctx: AdminContext, p: Plan, after: Key | undefined, take: number): Promise<StoredRow[]> {
  const where = [...p.where];
  if (after) where.push(Prisma.sql`("timestamp", "seq") < (${after.t}::timestamp(3), ${after.s}::bigint)`);
  const cond = where.length ? Prisma.sql`WHERE ${Prisma.join(where, " AND ")}` : Prisma.empty;
  const table = p.stream === "admin_activity" ? Prisma.raw(`"AdminActivityLog"`) : Prisma.raw(`"DataAccessLog"`);
  return ctx.db.$queryRaw<StoredRow[]>`SELECT * FROM ${table} ${cond} ORDER BY "timestamp" DESC, "seq" DESC LIMIT ${take}`;
}

function toEntry(stream: AuditStream, row: AdminActivityRow | DataAccessRow): AuditLogEntry {
  return stream === "admin_activity" ? adminActivityEntry(row as AdminActivityRow) : dataAccessEntry(row as DataAccessRow);
}

function keyOf(row: { timestamp: Date; seq: bigint }): Key {
  return { t: row.timestamp.toISOString(), s: row.seq.toString() };
}

/** A per-process key when the context has no instance secret (the CLI pages within one process). */
const FALLBACK_KEY = crypto.randomBytes(32);

function tokenKey(ctx: AdminContext): Buffer {
  return ctx.instance ? crypto.createHash("sha256").update(`gatehouse audit page token\0${ctx.instance.authSecret}`).digest() : FALLBACK_KEY;
}

/** What a token is bound to: the stream and every filter (not the page size). */
function filterDigest(f: AuditFilter): string {
  const { stream, principal, resource, permission, granted, reason, method, startTime, endTime, q } = f;
  return crypto.createHash("sha256").update(JSON.stringify([stream, principal, resource, permission, granted, reason, method, startTime, endTime, q])).digest("base64url").slice(0, 22);
}

function mac(ctx: AdminContext, payload: string): string {
  return crypto.createHmac("sha256", tokenKey(ctx)).update(payload).digest("base64url");
}

function encodeToken(ctx: AdminContext, f: AuditFilter, k: Key): string {
  const payload = Buffer.from(JSON.stringify({ t: k.t, s: k.s, f: filterDigest(f) })).toString("base64url");
  return `${payload}.${mac(ctx, payload)}`;
}

function decodeToken(ctx: AdminContext, f: AuditFilter, token: string): Key {
  const bad = () => new AppError("INVALID_ARGUMENT", "pageToken is not a token this list returned for these filters", [{ path: "pageToken", message: "not a token this list returned for these filters" }]);
  const [payload, sig, extra] = token.split(".");
  if (!payload || !sig || extra !== undefined) throw bad();
  const expected = Buffer.from(mac(ctx, payload));
  const given = Buffer.from(sig);
  if (given.length !== expected.length || !crypto.timingSafeEqual(given, expected)) throw bad();
  let v: { t?: unknown; s?: unknown; f?: unknown };
  try {
    v = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as typeof v;
  } catch {
    throw bad();
  }
  if (typeof v.t !== "string" || typeof v.s !== "string" || !/^\d{1,19}$/.test(v.s) || Number.isNaN(Date.parse(v.t)) || v.f !== filterDigest(f)) throw bad();
  return { t: v.t, s: v.s };
}

/** Records the read itself (Cloud Audit Logs' ListLogEntries data-access entry). */
function recordRead(ctx: AdminContext, f: AuditFilter, granted: boolean, started: number, path: string): void {
  const log = ctx.accessLog;
  if (!log) return;
  const actor = ctx.actor;
  log.record({
    decisionId: newDecisionId(),
    timestamp: new Date(),
    principal: actor.kind === "principal" ? actor.principal : actor.name,
    resourceName: f.resource ?? "organizations/-",
    permission: READ_PERMISSION[f.stream],
    granted,
    reason: granted ? "GRANTED" : "NO_MATCHING_BINDING",
    callerIp: ctx.requestMeta?.callerIp ?? null,
    host: null,
    path,
    method: "GET",
    accessLevels: [],
    unsatisfiedLevels: [],
    decidedBy: null,
    revision: ctx.engine?.current().revision ?? 0n,
    latencyUs: Math.round((performance.now() - started) * 1000),
    proxyCredentialId: null,
    status: granted ? null : { code: 7, message: "PERMISSION_DENIED" },
    whatIfTime: null,
    regionCode: null, destination: null,
  });
}

/** The query string a read is recorded with (its filters, not its page token). */
function describe(base: string, f: AuditFilter): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(f)) if (v !== undefined) q.set(k, String(v));
  return `${base}?${q.toString()}`;
}

/** Authorises, plans and records the read; `run` reads. */
async function authorisedRead<T>(ctx: AdminContext, f: AuditFilter, base: string, run: (p: Plan) => Promise<T>): Promise<T> {
  const started = performance.now();
  let p: Plan;
  try {
    p = plan(ctx, f, scopeOf(ctx, READ_PERMISSION[f.stream]));
  } catch (e) {
    if (e instanceof AppError && e.code === "PERMISSION_DENIED") recordRead(ctx, f, false, started, describe(base, f));
    throw e;
  }
  const out = await run(p);
  recordRead(ctx, f, true, started, describe(base, f));
  return out;
}

/** One page of entries, newest first (`GET /api/v1/auditLogs`); the query as ZAuditListQuery parsed it. */
export async function listAuditLogs(ctx: AdminContext, query: AuditListQuery): Promise<{ entries: AuditLogEntry[]; nextPageToken?: string }> {
  const { pageSize, pageToken, ...filter } = query;
  // The token is checked before anything is read or recorded.
  const after = pageToken ? decodeToken(ctx, filter, pageToken) : undefined;
  return authorisedRead(ctx, filter, "/api/v1/auditLogs", async (p) => {
    const rows = await fetchRows(ctx, p, after, pageSize + 1);
    const page = rows.slice(0, pageSize);
    const entries = page.map((r) => toEntry(filter.stream, r));
    return rows.length > pageSize ? { entries, nextPageToken: encodeToken(ctx, filter, keyOf(page[page.length - 1]!)) } : { entries };
  });
}

/** Rows fetched per query while exporting: memory stays bounded by this, whatever matches. */
const EXPORT_BATCH = 1000;

/**
 * Every matching entry, newest first, fetched in keyset batches (`GET /api/v1/auditLogs:export`).
 * Authorised (and recorded) before the first entry; the iterator reads one batch at a time as it
 * is consumed.
 */
export async function exportAuditLogs(ctx: AdminContext, query: AuditExportQuery): Promise<{ format: "ndjson" | "csv"; entries: AsyncIterable<AuditLogEntry> }> {
  const { format, ...filter } = query;
  const p = await authorisedRead(ctx, filter, "/api/v1/auditLogs:export", async (p) => p);
  async function* entries(): AsyncGenerator<AuditLogEntry> {
    let after: Key | undefined;
    for (;;) {
      const rows = await fetchRows(ctx, p, after, EXPORT_BATCH);
      for (const r of rows) yield toEntry(filter.stream, r);
      if (rows.length < EXPORT_BATCH) return;
      after = keyOf(rows[rows.length - 1]!);
    }
  }
  return { format, entries: entries() };
}

/** A page token continuing after `row` (benchmarks start deep pages with it). */
export function pageTokenAfter(ctx: AdminContext, filter: AuditFilter, row: { timestamp: Date; seq: bigint }): string {
  return encodeToken(ctx, filter, keyOf(row));
}
