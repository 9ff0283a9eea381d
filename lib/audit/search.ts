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
//
// Speed over millions of decisions, with few indexes (each is paid by every decision's insert): a
// page is either one scan in (timestamp, seq) order with the filters applied to it (fast when
// matches are dense), or — when the matches are few values of an indexed column (the resource
// names of a scope or filter, the principals and names q's prefixes find) — one ordered index scan
// per value, merged (fast however rare the matches). The values are found by loose index scans
// (one descent per distinct value), so names that have no records cost nothing. A permission and
// a denial reason are read through indexes of their own; denied decisions and log reads through
// partial ones (prisma/schema.prisma). The prefix scans are index ranges in a C-collated database
// (the embedded cluster is one).
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
  /**
   * Text. Data access: an exact insertId, or the start of a principal, resource name or host (see
   * TextMatch). Admin activity: a substring of the actor, resource or method, or an exact insertId.
   */
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
  /** Data access: the resource names a record may have (the reader's scope and the resource filter). */
  names?: NameRestriction;
  /** Data access: what `q` matches. */
  text?: TextMatch;
}

/**
 * Resource names admitted: `exact` (known nodes, or the filter's own name) and names the hierarchy
 * does not know under `containers`; `admit` decides a recorded name by the engine's snapshot, `sql`
 * is the same test as a row condition (by the Node table: the two differ only while a node's
 * creation or deletion has not reached this instance's engine).
 */
interface NameRestriction {
  exact: string[];
  containers: string[];
  admit(name: string): boolean;
  sql: Prisma.Sql;
}

/**
 * q on the data-access stream: an insertId exactly; the start of a principal (its email, or the
 * member string); the start of a resource name; the start of a host — of an application that
 * serves it (`hostResources`) or of a host no resource serves (recorded as `hosts/<host>`).
 */
interface TextMatch {
  insertId: string;
  /** LIKE patterns. */
  principals: string[];
  resource: string;
  host: string;
  hostResources: string[];
}

/** A set of records read by one ordered index scan: `column = value`, and `extra`. */
interface Branch {
  column: "resourceName" | "principal" | "decisionId";
  value: string;
  extra: Prisma.Sql[];
}

/**
 * At most this many per-value index scans are merged for one page (each costs a descent of an
 * index; planning cost grows with their number). More values than this match a wide part of the
 * log, which the time-ordered scan with a filter serves instead.
 */
const MAX_BRANCHES = 24;
/** At most this many known names are probed for records before falling back to the filter. */
const MAX_PROBED = 2000;

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

function likePrefix(name: string): string {
  return `${escapeLike(name)}/%`;
}

const underAny = (containers: readonly string[], name: string) => containers.some((c) => name.startsWith(`${c}/`));

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
  const names = restriction(ctx, f, scope);
  // On the data-access stream resolve() chooses how the names are read; admin activity grows at
  // the pace of administrators and is filtered as it is read.
  if (names && stream === "admin_activity") where.push(names.sql);
  if (f.principal !== undefined) {
    const p = normalisedPrincipal(stream, f.principal);
    where.push(stream === "admin_activity" ? Prisma.sql`"actor" = ${p}` : Prisma.sql`"principal" = ${p}`);
  }
  // Literals, not parameters, where a partial index must be matched: the planner proves an
  // index's predicate only from constants (`NOT "granted"`, `"permission" LIKE 'logging.%'`).
  if (f.method !== undefined) {
    if (stream === "admin_activity") where.push(Prisma.sql`"methodName" = ${f.method}`);
    else if (f.method === "ListLogEntries") where.push(Prisma.sql`"permission" LIKE 'logging.%'`);
    else if (f.method === "AuthorizeUser") where.push(Prisma.sql`"permission" NOT LIKE 'logging.%'`);
    else where.push(Prisma.sql`FALSE`);
  }
  if (f.permission !== undefined) where.push(Prisma.sql`"permission" = ${f.permission}`);
  // A decision is granted exactly when its reason is GRANTED (lib/policy evaluate), so a reason
  // filter names the decision too: denied reasons read the index of denied decisions.
  const granted = f.granted ?? (f.reason === undefined ? undefined : f.reason === "GRANTED");
  if (granted !== undefined) where.push(granted ? Prisma.sql`"granted"` : Prisma.sql`NOT "granted"`);
  if (f.reason !== undefined) where.push(Prisma.sql`"reason" = ${f.reason}`);
  if (f.startTime !== undefined) where.push(Prisma.sql`"timestamp" >= ${new Date(f.startTime).toISOString()}::timestamp(3)`);
  if (f.endTime !== undefined) where.push(Prisma.sql`"timestamp" < ${new Date(f.endTime).toISOString()}::timestamp(3)`);
  const q = f.q?.trim();
  if (!q) return { stream, where, ...(names && stream === "data_access" ? { names } : {}) };
  if (stream === "admin_activity") {
    const like = `%${escapeLike(q)}%`;
    where.push(Prisma.sql`("actor" ILIKE ${like} OR "resourceName" ILIKE ${like} OR "methodName" ILIKE ${like} OR "insertId" = ${q})`);
    return { stream, where };
  }
  return { stream, where, ...(names ? { names } : {}), text: textMatch(ctx, q) };
}

/** The resource names a read is restricted to (scope ∩ resource filter), or none when it is not. */
function restriction(ctx: AdminContext, f: AuditFilter, scope: Scope): NameRestriction | undefined {
  const s = reader(ctx).snapshot;
  const known = (n: string) => s?.nodes.has(n) ?? false;
  const inScope = (n: string) => scope.all || (known(n) ? scope.nodes.has(n) : underAny(scope.containers, n));
  const scopeSql = scope.all
    ? undefined
    : Prisma.sql`("resourceName" = ANY(${[...scope.nodes]}::text[]) OR ("resourceName" LIKE ANY(${scope.containers.map(likePrefix)}::text[]) AND NOT EXISTS (SELECT 1 FROM "Node" n WHERE n.name = "resourceName")))`;
  if (f.resource === undefined) {
    if (scope.all) return undefined;
    return { exact: [...scope.nodes], containers: scope.containers, admit: inScope, sql: scopeSql! };
  }
  const resource = f.resource;
  // A scoped reader names only what they may see (or an unknown name under it): else refused
  // exactly as a resource that does not exist.
  if (!mayName(scope, resource, known(resource))) throw denied(READ_PERMISSION[f.stream], resource);
  const names = known(resource) ? subtree(ctx, resource) : [resource];
  const below = new Set(names);
  // Names the hierarchy does not know lie textually under the resource or a container below it.
  const containers = [resource, ...names.filter((n) => /^(folders|projects)\/[^/]+$/.test(n))];
  const filterSql = Prisma.sql`("resourceName" = ANY(${names}::text[]) OR "resourceName" LIKE ANY(${containers.map(likePrefix)}::text[]))`;
  return {
    exact: names.filter(inScope),
    containers,
    admit: (n) => (known(n) ? below.has(n) : n === resource || underAny(containers, n)) && inScope(n),
    sql: scopeSql ? Prisma.sql`${scopeSql} AND ${filterSql}` : filterSql,
  };
}

function textMatch(ctx: AdminContext, q: string): TextMatch {
  const lower = q.toLowerCase();
  const colon = q.indexOf(":");
  // A member string keeps its type as written and lower-cases the email, as records store it.
  const principals = colon > 0 ? [`${q.slice(0, colon)}:${lower.slice(colon + 1)}`] : [`user:${lower}`, `serviceAccount:${lower}`];
  const s = reader(ctx).snapshot;
  const hostResources = s ? [...s.nodes.values()].filter((n) => n.hosts.some((h) => h.startsWith(lower))).map((n) => n.name) : [];
  return { insertId: q, principals: principals.map((p) => `${escapeLike(p)}%`), resource: `${escapeLike(q)}%`, host: `${escapeLike(lower)}%`, hostResources };
}

/** q as one row condition (when too many values match to read them one by one). */
function textSql(t: TextMatch): Prisma.Sql {
  return Prisma.sql`("decisionId" = ${t.insertId} OR "principal" LIKE ANY(${t.principals}::text[]) OR "resourceName" LIKE ${t.resource} OR "resourceName" LIKE ${`hosts/${t.host}`} OR ("resourceName" = ANY(${t.hostResources}::text[]) AND lower("host") LIKE ${t.host}))`;
}

/** Per database client: whether its text sorts by code point, which makes a LIKE prefix an index range. */
const codePointOrder = new WeakMap<object, Promise<boolean>>();

/**
 * Whether prefixes may be enumerated by index (C, POSIX or C.UTF-8 collation, as the embedded
 * cluster's): under a linguistic collation a LIKE prefix is no index range, a loose scan would read
 * the whole index, and reads keep to the filter instead.
 */
function prefixesIndexed(ctx: AdminContext): Promise<boolean> {
  let known = codePointOrder.get(ctx.db);
  if (!known) {
    known = ctx.db.$queryRaw<{ c: boolean }[]>`SELECT NOT ('a' < 'B') AS c`.then((r) => r[0]?.c === true);
    known.catch(() => codePointOrder.delete(ctx.db));
    codePointOrder.set(ctx.db, known);
  }
  return known;
}

/**
 * Distinct values of an indexed column matching a LIKE prefix pattern, at most `limit`: a loose
 * index scan (one descent of the column's index per value), not a scan of the records.
 */
async function valuesLike(ctx: AdminContext, column: "resourceName" | "principal", pattern: string, limit: number): Promise<string[]> {
  const c = Prisma.raw(`"${column}"`);
  const rows = await ctx.db.$queryRaw<{ v: string }[]>`
    WITH RECURSIVE vals(v) AS (
      (SELECT ${c} FROM "DataAccessLog" WHERE ${c} LIKE ${pattern} ORDER BY ${c} LIMIT 1)
      UNION ALL
      SELECT (SELECT ${c} FROM "DataAccessLog" WHERE ${c} > vals.v AND ${c} LIKE ${pattern} ORDER BY ${c} LIMIT 1) FROM vals WHERE vals.v IS NOT NULL
    ) SELECT v FROM vals WHERE v IS NOT NULL LIMIT ${limit}`;
  return rows.map((r) => r.v);
}

/**
 * The recorded names a restriction admits, or undefined when there are more than MAX_BRANCHES
 * (or too many known names to probe): then the restriction is read as a row condition.
 */
async function recordedNames(ctx: AdminContext, r: NameRestriction): Promise<string[] | undefined> {
  if (r.exact.length > MAX_PROBED || (r.containers.length > 0 && !(await prefixesIndexed(ctx)))) return undefined;
  const found = new Set(
    r.exact.length === 0
      ? []
      : (await ctx.db.$queryRaw<{ n: string }[]>`SELECT n FROM unnest(${r.exact}::text[]) AS n WHERE EXISTS (SELECT 1 FROM "DataAccessLog" WHERE "resourceName" = n)`).map((x) => x.n),
  );
  // Names under a container: admitted known ones (at most `exact`), unknown ones, and any the
  // restriction leaves out. Past this bound the read keeps to the filter (either way is correct;
  // the bound only stops the enumeration early).
  const bound = r.exact.length + MAX_BRANCHES + 1;
  for (const c of r.containers) {
    if (found.size > MAX_BRANCHES) return undefined;
    // Every recorded name under the container; only what the restriction admits is kept.
    const under = await valuesLike(ctx, "resourceName", likePrefix(c), bound);
    if (under.length >= bound) return undefined;
    for (const n of under) if (r.admit(n)) found.add(n);
  }
  return found.size > MAX_BRANCHES ? undefined : [...found];
}

/** q's branches, disjoint (a record matched by an earlier branch is left out of later ones), or undefined when too many. */
async function textBranches(ctx: AdminContext, t: TextMatch): Promise<Branch[] | undefined> {
  if (!(await prefixesIndexed(ctx))) return undefined;
  const principals: string[] = [];
  for (const p of t.principals) principals.push(...(await valuesLike(ctx, "principal", p, MAX_BRANCHES + 1)));
  if (principals.length > MAX_BRANCHES) return undefined;
  // resourceName → its condition: none (the name matches), or the host's (an application's host matches).
  const resources = new Map<string, Prisma.Sql | null>();
  for (const n of [...(await valuesLike(ctx, "resourceName", t.resource, MAX_BRANCHES + 1)), ...(await valuesLike(ctx, "resourceName", `hosts/${t.host}`, MAX_BRANCHES + 1))]) resources.set(n, null);
  for (const n of t.hostResources) if (!resources.has(n)) resources.set(n, Prisma.sql`lower("host") LIKE ${t.host}`);
  if (principals.length + resources.size + 1 > MAX_BRANCHES) return undefined;
  const notId = Prisma.sql`"decisionId" <> ${t.insertId}`;
  const notPrincipal = Prisma.sql`("principal" = ANY(${principals}::text[])) IS NOT TRUE`;
  return [
    { column: "decisionId", value: t.insertId, extra: [] },
    ...principals.map((value): Branch => ({ column: "principal", value, extra: [notId] })),
    ...[...resources].map(([value, host]): Branch => ({ column: "resourceName", value, extra: [notId, notPrincipal, ...(host ? [host] : [])] })),
  ];
}

/**
 * How a data-access read is executed: its row conditions, and the branches to merge when small
 * sets of values (names, principals) are read one ordered index scan each. Without branches the
 * read is one scan in (timestamp, seq) order with the conditions as a filter.
 */
async function resolve(ctx: AdminContext, p: Plan): Promise<{ where: Prisma.Sql[]; branches?: Branch[] }> {
  const where = [...p.where];
  const names = p.names ? await recordedNames(ctx, p.names) : undefined;
  if (p.names && !names) where.push(p.names.sql);
  if (p.text) {
    if (names) where.push(Prisma.sql`"resourceName" = ANY(${names}::text[])`);
    const branches = await textBranches(ctx, p.text);
    if (!branches) where.push(textSql(p.text));
    return branches ? { where, branches } : { where };
  }
  return names ? { where, branches: names.map((value): Branch => ({ column: "resourceName", value, extra: [] })) } : { where };
}

/** A stored row: its columns and its key. */
type StoredRow = (AdminActivityRow | DataAccessRow) & { seq: bigint };

async function fetchRows(ctx: AdminContext, p: Plan, after: Key | undefined, take: number): Promise<StoredRow[]> {
  const { where, branches } = p.stream === "data_access" ? await resolve(ctx, p) : { where: [...p.where], branches: undefined };
  if (after) where.push(Prisma.sql`("timestamp", "seq") < (${after.t}::timestamp(3), ${after.s}::bigint)`);
  const table = p.stream === "admin_activity" ? Prisma.raw(`"AdminActivityLog"`) : Prisma.raw(`"DataAccessLog"`);
  const order = Prisma.sql`ORDER BY "timestamp" DESC, "seq" DESC LIMIT ${take}`;
  if (!branches) {
    const cond = where.length ? Prisma.sql`WHERE ${Prisma.join(where, " AND ")}` : Prisma.empty;
    return ctx.db.$queryRaw<StoredRow[]>`SELECT * FROM ${table} ${cond} ${order}`;
  }
  if (branches.length === 0) return [];
  // Each branch reads its newest `take` by its own index, in key order; PostgreSQL merges them
  // (Merge Append) and stops after `take`.
  const parts = branches.map((b) => {
    const cond = Prisma.join([Prisma.sql`${Prisma.raw(`"${b.column}"`)} = ${b.value}`, ...b.extra, ...where], " AND ");
    return Prisma.sql`(SELECT * FROM ${table} WHERE ${cond} ${order})`;
  });
  return ctx.db.$queryRaw<StoredRow[]>`SELECT * FROM (${Prisma.join(parts, " UNION ALL ")}) AS merged ${order}`;
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
