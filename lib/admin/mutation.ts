// runMutation: the only transaction in lib/admin, and so the one way any policy data changes
// (the admin API, the console's actions, `apply`, the seed). In one transaction it
//   1. locks the revision row (every writer queues here: the chain of revisions is linear);
//   2. waits until the local engine has applied that revision, and takes its snapshot — the
//      state the actor is authorised against is exactly the state being written on;
//   3. runs the body, which authorises (m.require / the guards in authz.ts), validates and writes
//      through the row writers (lib/db/writers.ts), noting what changed and what to audit (its
//      last writes may wait for the commit's statement: m.commit);
//   4. checks the guard rail every change shares (no organization left without anyone able to
//      set its policy), on the snapshot as it will be after the change (m.after()) — computed
//      only when the changes can touch an organization's administrators;
//   5. bumps the revision (NOTIFY on commit: every instance follows), records what changed for
//      the engines (PolicyChange), the new version of every changed policy (PolicyVersion) and of
//      every other changed unit (PolicyHistory, lib/history/store.ts: the audit trail explains
//      decisions at their revision with them), and one admin-activity record per audited
//      change, hash-chained — all in one statement (the first mutation ever to run here records
//      history's baseline);
//   6. after the commit, hands a change of policies only to the local engine as written (adopt),
//      so that the next write here need not wait for the change feed; any other change is
//      answered once the local engine has applied it (read-your-writes on this instance).
// A body that throws, or a failed write, leaves nothing: no change, no record, no revision.
import { Prisma } from "@/lib/generated/prisma/client";
import type { Snapshot } from "@/lib/policy";
import { AppError } from "@/lib/errors";
import { adminActivityParts, lockAdminChainHead, type AdminActivity } from "@/lib/audit/admin";
import { commitRevision, type ChangeKind, type PolicyChangeRef } from "@/lib/db/revision";
import { RowWriter } from "@/lib/db/writers";
import { Statement } from "@/lib/db/statement";
import { policiesWritten } from "@/lib/db/bulk";
import { applyChanges, type LoadedState } from "@/lib/decide/load";
import { historyRows, recordBaseline } from "@/lib/history/store";
import { actorName, type Actor, type AdminContext } from "./context";
import { authorize, authorizeForDomain, authorizeInstance, checkOrganizationsAdministered } from "./authz";

type Tx = Prisma.TransactionClient;

/** How long a mutation waits for the local engine to reach the revision it locked. */
export const ENGINE_WAIT_MS = 5_000;
/** Longest a mutation may hold the revision row (apply of a large world included). */
export const MUTATION_TIMEOUT_MS = 120_000;

/** What a body records for the admin-activity log (actor, revision and caller are added). */
export type MutationAudit = Omit<AdminActivity, "actor" | "revision" | "callerIp" | "userAgent">;

export interface MutationScope {
  readonly tx: Tx;
  /** The row writers, writing at `revision`; what they change is recorded for the engines. */
  readonly write: RowWriter;
  /** The revision this mutation commits at (the locked one + 1). */
  readonly revision: bigint;
  readonly actor: Actor;
  /** The snapshot at the locked revision: what the actor is authorised against. Null for a system actor without an engine. */
  readonly before: Snapshot | null;
  /** When this mutation happens (conditions on admin bindings are evaluated at it). */
  readonly now: Date;
  /**
   * The statement that commits this mutation (lib/db/statement.ts): a body's last writes may go
   * into it (setPolicies takes it) to run with the commit, in its round trip. Such rows are not
   * there to read before; after() and everything runMutation reads first write them.
   */
  readonly commit: Statement;
  /** Rule 1 (authz.ts): throws PERMISSION_DENIED unless the actor holds `permission` on `resource`. */
  require(permission: string, resource: string): void;
  /** Rule 1 for instance-wide things (authz.ts authorizeInstance). */
  requireInstance(permission: string): void;
  /** Rule 1 for groups and users: on the organization of the email's domain (authz.ts authorizeForDomain). */
  requireForDomain(permission: string, email: string): Promise<void>;
  /**
   * The snapshot as it will be after the writes so far (loaded inside this transaction). Null
   * when there is no `before` to derive it from.
   */
  after(): Promise<Snapshot | null>;
  /** Changes the row writers do not know about (e.g. a proxy credential) for the engines. */
  changed(...refs: PolicyChangeRef[]): void;
  audit(entry: MutationAudit): void;
}

export interface MutationResult<T> {
  value: T;
  /** The revision committed at; null when the body changed and audited nothing, or for a dry run. */
  revision: bigint | null;
}

export interface MutationOptions {
  /**
   * Run everything — authorisation, validation, writes, guard rails — then roll back: the value
   * (e.g. the diff a change would make) comes back, nothing is kept.
   */
  dryRun?: boolean;
}

/** Thrown inside a dry run's transaction to roll it back with its value. */
class DryRunRollback<T> extends Error {
  constructor(readonly value: T) {
    super("dry run");
  }
}

/** Organization names by domain (the snapshot keeps no domains). */
export async function domainOrganizations(db: Pick<Tx, "node">): Promise<Map<string, string>> {
  const orgs = await db.node.findMany({ where: { kind: "ORGANIZATION", domain: { not: null } }, select: { name: true, domain: true } });
  return new Map(orgs.map((o) => [o.domain!, o.name]));
}

/**
 * Locks the revision row and, with it, the head of the admin-activity chain (every mutation
 * appends to it; one round trip for both, always in this order — the order of every writer that
 * takes both). `head` is undefined when the chain has no head row yet; `historyStarted` is false
 * until a mutation has recorded history's baseline.
 */
async function lockRevision(tx: Tx): Promise<{ locked: bigint; head: string | undefined; historyStarted: boolean }> {
  const rows = await tx.$queryRaw<{ value: bigint | null; head: string | null; started: boolean }[]>`
    SELECT (SELECT value FROM "PolicyRevision" WHERE id = 1 FOR UPDATE) AS value,
           (SELECT "lastHash" FROM "AuditChainHead" WHERE stream = 'admin_activity' FOR UPDATE) AS head,
           EXISTS (SELECT 1 FROM "PolicyHistoryStart" WHERE id = 1) AS started`;
  const head = rows[0]?.head ?? undefined;
  const historyStarted = rows[0]?.started ?? false;
  if (rows[0]?.value !== null && rows[0]?.value !== undefined) return { locked: BigInt(rows[0].value), head, historyStarted };
  // The first write ever: make the row (or find the one a concurrent first write made).
  await tx.$executeRaw`INSERT INTO "PolicyRevision" (id, value, "updatedAt") VALUES (1, 0, now()) ON CONFLICT (id) DO NOTHING`;
  const again = await tx.$queryRaw<{ value: bigint }[]>`SELECT value FROM "PolicyRevision" WHERE id = 1 FOR UPDATE`;
  return { locked: again[0]!.value, head, historyStarted };
}

function byKind(refs: readonly PolicyChangeRef[]): Map<ChangeKind, Set<string>> {
  const out = new Map<ChangeKind, Set<string>>();
  for (const r of refs) {
    let set = out.get(r.kind);
    if (!set) out.set(r.kind, (set = new Set()));
    set.add(r.key);
  }
  return out;
}

/** Whether organizationsAffected can name any organization (without the after-snapshot it needs). */
function mayAffectOrganizations(kinds: ReadonlyMap<ChangeKind, ReadonlySet<string>>): boolean {
  if (kinds.has("group") || kinds.has("principal") || kinds.has("customRoles") || kinds.has("instanceOwners")) return true;
  return [...(kinds.get("policy") ?? []), ...(kinds.get("denyPolicies") ?? [])].some((k) => k.startsWith("organizations/"));
}

/** Organizations whose administrators a set of changes can affect (rule 3 of authz.ts). */
function organizationsAffected(after: Snapshot, kinds: ReadonlyMap<ChangeKind, ReadonlySet<string>>): string[] {
  const orgs = [...after.nodes.keys()].filter((n) => n.startsWith("organizations/"));
  // Memberships, accounts, roles and the owners list can take an organization's admins away
  // anywhere; a policy or deny policy only where it is attached.
  if (kinds.has("group") || kinds.has("principal") || kinds.has("customRoles") || kinds.has("instanceOwners")) return orgs;
  const touched = new Set([...(kinds.get("policy") ?? []), ...(kinds.get("denyPolicies") ?? [])]);
  return orgs.filter((o) => touched.has(o));
}

export async function runMutation<T>(ctx: AdminContext, body: (m: MutationScope) => Promise<T>, opts: MutationOptions = {}): Promise<MutationResult<T>> {
  try {
    return await inTransaction(ctx, body, opts);
  } catch (e) {
    if (e instanceof DryRunRollback) return { value: e.value as T, revision: null };
    throw e;
  }
}

async function inTransaction<T>(ctx: AdminContext, body: (m: MutationScope) => Promise<T>, opts: MutationOptions): Promise<MutationResult<T>> {
  const { actor, engine } = ctx;
  if (actor.kind === "principal" && !engine) throw new AppError("INTERNAL", "a principal's change needs the policy engine to authorise it");
  /** After the commit: hand a policy-only revision to the local engine (EngineView.adopt). */
  const committed: { adopt?: () => void; revision?: bigint } = {};
  const transaction = ctx.db.$transaction(
    async (tx) => {
      const locks = await lockRevision(tx);
      const locked = locks.locked;
      let state: LoadedState | null = null;
      if (engine) {
        // Nobody else can write while we hold the row, so the engine reaches exactly `locked`.
        if (!(await engine.waitFor(locked, ENGINE_WAIT_MS))) {
          throw new AppError("UNAVAILABLE", `the policy engine has not caught up with revision ${locked}; try again`);
        }
        state = engine.current();
      }
      // Under the lock, before any write: the state at `locked` is what the tables hold.
      if (!locks.historyStarted && !opts.dryRun) await recordBaseline(tx, locked);
      const revision = locked + 1n;
      const now = new Date();
      const write = new RowWriter(tx, revision);
      const extra: PolicyChangeRef[] = [];
      const audits: MutationAudit[] = [];
      let afterCache: { at: number; snapshot: Snapshot } | null = null;
      const refs = () => [...write.changed, ...extra];
      let commit = new Statement();
      /** Runs the writes left to the commit statement now: before anything reads the tables. */
      const flush = async () => {
        if (commit.empty) return;
        const pending = commit;
        commit = new Statement();
        await tx.$executeRawUnsafe(pending.sql("SELECT 1"), ...pending.params);
      };
      const after = async (): Promise<Snapshot | null> => {
        await flush();
        if (!state || !engine) return null;
        const n = refs().length;
        if (afterCache?.at !== n) {
          const loaded = await applyChanges(tx, state, byKind(refs()), revision, engine.bootstrapAdmins);
          afterCache = { at: n, snapshot: loaded.snapshot };
        }
        return afterCache.snapshot;
      };
      const scope: MutationScope = {
        tx,
        write,
        revision,
        actor,
        before: state?.snapshot ?? null,
        now,
        get commit() {
          return commit;
        },
        require: (permission, resource) => authorize(state?.snapshot ?? null, actor, permission, resource, now),
        requireInstance: (permission) => authorizeInstance(state?.snapshot ?? null, state?.owners ?? [], actor, permission, now),
        requireForDomain: async (permission, email) => {
          if (actor.kind === "system") return;
          authorizeForDomain(state?.snapshot ?? null, state?.owners ?? [], await domainOrganizations(tx), actor, permission, email, now);
        },
        after,
        changed: (...r) => void extra.push(...r),
        audit: (entry) => void audits.push(entry),
      };
      const value = await body(scope);
      const changes = refs();
      if (changes.length === 0 && audits.length === 0) {
        await flush();
        if (opts.dryRun) throw new DryRunRollback(value);
        return { value, revision: null };
      }
      if (actor.kind === "principal") {
        // The after-snapshot only when some organization's administrators can be affected: a
        // policy change elsewhere (the common case) costs no reload and no whoCan.
        const kinds = byKind(changes);
        if (mayAffectOrganizations(kinds)) {
          const snapshot = await after();
          if (snapshot) checkOrganizationsAdministered(snapshot, organizationsAffected(snapshot, kinds), now);
        }
      }
      if (opts.dryRun) {
        await flush(); // a dry run meets every error the writes would
        throw new DryRunRollback(value);
      }
      // A change of policies only, all written through setPolicies: their stored form is known
      // (policiesWritten) — kept as their version, and handed to the local engine after the commit.
      const written = policiesWritten(write);
      const policiesOnly = changes.every((c) => c.kind === "policy" && written.has(c.key));
      // Anything else is read back (history, versions of other policies): written first.
      if (!policiesOnly) await flush();
      const history = await historyRows(tx, byKind(changes));
      // The body's last writes, the revision, its records and the admin-activity records: one
      // statement, one round trip.
      const st = commit;
      const final = commitRevision(st, revision, changes, policiesOnly ? written : undefined, history);
      const records = audits.map((a) => ({ ...a, actor: actorName(actor), revision, ...ctx.requestMeta }));
      if (records.length) adminActivityParts(st, records, locks.head ?? (await lockAdminChainHead(tx)));
      const [bumped] = await tx.$queryRawUnsafe<{ value: bigint }[]>(st.sql(final), ...st.params);
      if (!bumped || BigInt(bumped.value) !== revision) throw new AppError("INTERNAL", "the revision moved while it was locked");
      if (engine?.adopt && policiesOnly) {
        const policies = new Map(changes.map((c) => [c.key, written.get(c.key)!]));
        committed.adopt = () => engine.adopt!(locked, revision, policies);
        committed.revision = revision;
        engine.expectAdopt?.(revision);
      }
      return { value, revision };
    },
    { ...(await readCommittedOptions(ctx.db)), timeout: MUTATION_TIMEOUT_MS, maxWait: 30_000 },
  );
  const result = await transaction.catch((e: unknown) => {
    if (committed.revision !== undefined) engine?.cancelAdopt?.(committed.revision);
    throw e;
  });
  committed.adopt?.();
  // Read-your-writes on this instance: the answer waits (bounded; the change is committed either
  // way) until the local engine has applied it, so the caller's next request here — a read the
  // engine authorises, a decision — already sees it. Other instances follow the feed (minRevision).
  if (engine && result.revision !== null && !committed.adopt) await engine.waitFor(result.revision, ENGINE_WAIT_MS);
  return result;
}

const defaultIsolation = new WeakMap<object, Promise<boolean>>();

/**
 * Mutations run READ COMMITTED (the lock on the revision row serialises them; a stricter level
 * would fail a writer that waited for it). Asked for explicitly only when the server's default is
 * another level: the request costs a round trip per mutation.
 */
async function readCommittedOptions(db: AdminContext["db"]): Promise<{ isolationLevel?: Prisma.TransactionIsolationLevel }> {
  let known = defaultIsolation.get(db);
  if (!known) {
    known = db.$queryRaw<{ default_transaction_isolation: string }[]>`SHOW default_transaction_isolation`.then(
      (r) => r[0]?.default_transaction_isolation === "read committed",
      () => false,
    );
    defaultIsolation.set(db, known);
  }
  return (await known) ? {} : { isolationLevel: Prisma.TransactionIsolationLevel.ReadCommitted };
}

