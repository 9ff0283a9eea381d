// Policy history: the engine's state as of any revision since history began, so that a decision
// can be explained at the revision it was made at, and "who could reach X at time T" answered.
//
// Written by lib/admin's runMutation, inside the change's transaction (a change without its
// history cannot commit):
//   - allow policies: PolicyVersion (lib/db/revision.ts commitRevision), as before;
//   - every other aggregate the engine loads: one PolicyHistory row per changed (kind, key), the
//     state read back with the engine's own loaders (lib/decide/load.ts) — so history holds
//     exactly what the engine compiled, never a second reading of the rows;
//   - the commit time of every revision (PolicyRevisionTime).
// The first mutation that finds no PolicyHistoryStart row records the whole state at the revision
// it locked (a baseline) and the start row: revisions before it cannot be replayed, and the
// callers say so rather than guess.
//
// Read: the state at R is, per (kind, key), its latest row with revision ≤ R; compiled with the
// core's compile (lib/policy stays pure), cached per revision.
import type { Prisma, PrismaClient } from "@/lib/generated/prisma/client";
import { compile, type AccessLevel, type AllowPolicy, type DenyPolicy, type HierarchyNode, type PolicyData, type Principal, type Role, type Snapshot } from "@/lib/policy";
import { historyInsertSql, type ChangeKind, type HistoryRow } from "@/lib/db/revision";
import type { PolicyBinding } from "@/lib/db/writers";
import { BINDINGS_JSON } from "@/lib/db/policy-rows";
import { loadAccessLevels, loadCustomRoles, loadDenyPolicies, loadGroups, loadNodes, loadOwners, loadPrincipals, toNode, toPolicy } from "@/lib/decide/load";

type Tx = Prisma.TransactionClient;

/** The kinds history keeps in PolicyHistory (policies are in PolicyVersion; issuers and proxy credentials are not policy). */
const HISTORY_KINDS = ["node", "denyPolicies", "group", "principal", "customRoles", "accessLevels", "instanceOwners"] as const;
type HistoryKind = (typeof HISTORY_KINDS)[number];


/** The state of `kind` units, as the engine's loaders read them (key → state; absent = gone). */
async function readUnits(tx: Tx, kind: HistoryKind, keys: readonly string[] | undefined): Promise<Map<string, unknown>> {
  const out = new Map<string, unknown>();
  switch (kind) {
    case "node":
      for (const r of await loadNodes(tx, keys ? [...keys] : undefined)) out.set(r.name, toNode(r));
      break;
    case "denyPolicies":
      for (const d of await loadDenyPolicies(tx, keys ? [...keys] : undefined)) {
        const list = (out.get(d.attachedTo) as DenyPolicy[] | undefined) ?? [];
        list.push(d);
        out.set(d.attachedTo, list);
      }
      break;
    case "group":
      for (const g of await loadGroups(tx, keys ? [...keys] : undefined)) out.set(g.email, g.members);
      break;
    case "principal":
      for (const p of (await loadPrincipals(tx, keys ? [...keys] : undefined)).principals) out.set(p.member.slice(p.member.indexOf(":") + 1), p);
      break;
    case "customRoles":
      out.set("*", await loadCustomRoles(tx));
      break;
    case "accessLevels":
      out.set("*", await loadAccessLevels(tx));
      break;
    case "instanceOwners":
      out.set("*", await loadOwners(tx, []));
      break;
  }
  return out;
}

/** Above this many changed keys of a kind, its units are read whole rather than by key. */
const FILTER_LIMIT = 500;

/**
 * The history rows of a mutation's changes, read inside its transaction after its writes. A
 * change of policies only (the common write) reads nothing.
 */
export async function historyRows(tx: Tx, byKind: ReadonlyMap<ChangeKind, ReadonlySet<string>>): Promise<HistoryRow[]> {
  const kinds = HISTORY_KINDS.filter((k) => byKind.has(k));
  const read = await Promise.all(
    kinds.map(async (kind) => {
      const keys = [...byKind.get(kind)!];
      const whole = kind === "customRoles" || kind === "accessLevels" || kind === "instanceOwners";
      // A large change set (an apply) is read whole: one scan beats a list of thousands of keys.
      const found = await readUnits(tx, kind, whole || keys.length > FILTER_LIMIT ? undefined : keys);
      return (whole ? ["*"] : keys).map((key): HistoryRow => ({ kind, key, state: found.has(key) ? JSON.stringify(found.get(key)) : null }));
    }),
  );
  return read.flat();
}

/** The revision history starts at, or null when no mutation has recorded a baseline yet. */
export async function historyStart(db: Pick<Tx, "$queryRaw">): Promise<bigint | null> {
  const rows = await db.$queryRaw<{ revision: bigint }[]>`SELECT revision FROM "PolicyHistoryStart" WHERE id = 1`;
  return rows[0] ? BigInt(rows[0].revision) : null;
}

/**
 * Records the whole state at `revision` (the locked one, before the mutation writes) as the
 * start of history. Called once, by the first mutation that finds no start row; the caller holds
 * the revision lock, so the state read is exactly that revision's.
 */
export async function recordBaseline(tx: Tx, revision: bigint): Promise<void> {
  const rows: HistoryRow[] = [];
  for (const kind of HISTORY_KINDS) {
    for (const [key, state] of await readUnits(tx, kind, undefined)) rows.push({ kind, key, state: JSON.stringify(state) });
  }
  const rev = revision.toString();
  await tx.$executeRawUnsafe(`${historyInsertSql("$1::json", "$2::bigint")} ON CONFLICT DO NOTHING`, JSON.stringify(rows), rev);
  // Policies unchanged since before PolicyVersion existed have no version yet.
  await insertMissingPolicyVersions(tx, rev);
  await tx.$executeRaw`INSERT INTO "PolicyHistoryStart" (id, revision) VALUES (1, ${revision}) ON CONFLICT (id) DO NOTHING`;
}

async function insertMissingPolicyVersions(tx: Tx, rev: string): Promise<void> {
  await tx.$executeRawUnsafe(
    `INSERT INTO "PolicyVersion" ("resourceName", revision, etag, bindings)
     SELECT p."resourceName", $1::bigint, p.etag, ${BINDINGS_JSON} FROM "AllowPolicy" p
     ON CONFLICT DO NOTHING`,
    rev,
  );
}

/** The latest revision committed at or before `time` (0 when none was), and when it was committed. */
export async function revisionAt(db: Pick<PrismaClient, "$queryRaw">, time: Date): Promise<{ revision: bigint; committedAt: Date | null }> {
  const rows = await db.$queryRaw<{ revision: bigint; committedAt: Date }[]>`
    SELECT revision, "committedAt" FROM "PolicyRevisionTime" WHERE "committedAt" <= ${time} ORDER BY "committedAt" DESC, revision DESC LIMIT 1`;
  return rows[0] ? { revision: BigInt(rows[0].revision), committedAt: rows[0].committedAt } : { revision: 0n, committedAt: null };
}

export type SnapshotAt = { ok: true; revision: bigint; snapshot: Snapshot } | { ok: false; revision: bigint; historyStart: bigint | null };

/** The PolicyData at `revision`, from history (the caller checked that history covers it). */
async function dataAt(db: PrismaClient, revision: bigint, bootstrapAdmins: readonly string[]): Promise<PolicyData> {
  const rev = revision.toString();
  const [units, versions] = await Promise.all([
    db.$queryRawUnsafe<{ kind: string; key: string; state: string | null }[]>(
      `SELECT DISTINCT ON (kind, key) kind, key, state::text AS state FROM "PolicyHistory" WHERE revision <= $1::bigint ORDER BY kind, key, revision DESC`,
      rev,
    ),
    db.$queryRawUnsafe<{ resourceName: string; etag: string | null; bindings: string }[]>(
      `SELECT DISTINCT ON ("resourceName") "resourceName", etag, bindings::text AS bindings FROM "PolicyVersion" WHERE revision <= $1::bigint ORDER BY "resourceName", revision DESC`,
      rev,
    ),
  ]);
  const nodes: HierarchyNode[] = [];
  const principals: Principal[] = [];
  const groups: { email: string; members: string[] }[] = [];
  const denyPolicies: DenyPolicy[] = [];
  let roles: Role[] = [];
  let accessLevels: AccessLevel[] = [];
  let stored: string[] = [];
  for (const u of units) {
    if (u.state === null) continue;
    const state: unknown = JSON.parse(u.state);
    switch (u.kind as HistoryKind) {
      case "node":
        nodes.push(state as HierarchyNode);
        break;
      case "principal":
        principals.push(state as Principal);
        break;
      case "group":
        groups.push({ email: u.key, members: state as string[] });
        break;
      case "denyPolicies":
        denyPolicies.push(...(state as DenyPolicy[]));
        break;
      case "customRoles":
        roles = state as Role[];
        break;
      case "accessLevels":
        accessLevels = state as AccessLevel[];
        break;
      case "instanceOwners":
        stored = state as string[];
        break;
    }
  }
  // As loadOwners: the configured bootstrap admins (configuration, not history) and the stored owners then.
  const owners = [...new Set([...bootstrapAdmins, ...stored])].sort();
  const names = new Set(nodes.map((n) => n.name));
  const byResource = new Map(versions.filter((v) => v.etag !== null && names.has(v.resourceName)).map((v) => [v.resourceName, v]));
  const resources = new Set([...byResource.keys(), ...nodes.filter((n) => n.parent === null && n.name.startsWith("organizations/")).map((n) => n.name)]);
  const policies: AllowPolicy[] = [...resources].map((r) => {
    const v = byResource.get(r);
    return toPolicy(r, v ? { resourceName: r, version: 3, etag: v.etag!, revision, bindings: JSON.parse(v.bindings) as PolicyBinding[] } : null, owners);
  });
  return { nodes, principals, groups, roles, accessLevels, denyPolicies, policies };
}

/** Compiled snapshots by revision: explaining a page of decisions mostly asks for a few revisions. */
const CACHE_SIZE = 8;
const cache = new Map<string, Promise<Snapshot>>();

/**
 * The engine's snapshot as it was at `revision`, or why it cannot be had (before history began,
 * or a revision not reached yet). `bootstrapAdmins`: GATEHOUSE_BOOTSTRAP_ADMINS, which are
 * configuration and so taken as they are now.
 */
export async function snapshotAt(db: PrismaClient, revision: bigint, bootstrapAdmins: readonly string[]): Promise<SnapshotAt> {
  const [start, current] = await Promise.all([
    historyStart(db),
    db.$queryRaw<{ value: bigint }[]>`SELECT value FROM "PolicyRevision" WHERE id = 1`.then((r) => (r[0] ? BigInt(r[0].value) : 0n)),
  ]);
  if (start === null || revision < start || revision > current) return { ok: false, revision, historyStart: start };
  // History is append-only above its start: a revision's state never changes once committed.
  const key = `${start}\u0000${revision}\u0000${[...bootstrapAdmins].sort().join(",")}`;
  let hit = cache.get(key);
  if (hit) {
    cache.delete(key);
  } else {
    hit = dataAt(db, revision, bootstrapAdmins).then((data) => compile(data, revision));
    hit.catch(() => cache.delete(key));
  }
  cache.set(key, hit);
  while (cache.size > CACHE_SIZE) cache.delete(cache.keys().next().value!);
  return { ok: true, revision, snapshot: await hit };
}
