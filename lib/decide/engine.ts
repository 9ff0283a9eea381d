// The live policy engine of one instance: an immutable compiled snapshot in memory (the decision
// path never waits on the database), kept current from the change feed.
//
// - Start: load everything at one revision and compile.
// - Follow: LISTEN gatehouse_revision (NOTIFY is sent by every IAM write at commit) plus a poll of
//   the revision row every second as a fallback; each sync reads the PolicyChange rows after the
//   current revision and reloads just those units (a policy, a group, a node…) into the snapshot
//   with the core's incremental updates. A gap in the feed (pruned rows) falls back to a full load.
// - If the database goes away, decisions continue from the last snapshot; health() reports it stale.
import pg from "pg";
import type { PrismaClient } from "@/lib/generated/prisma/client";
import { Prisma } from "@/lib/generated/prisma/client";
import { compile, withPolicy } from "@/lib/policy";
import { readPolicyVersions, type StoredPolicy } from "@/lib/db/policy-rows";
import { REVISION_CHANNEL, type ChangeKind } from "@/lib/db/revision";
import { applyChanges, loadAll, loadOwners, toPolicy, type LoadedState } from "./load";

export interface EngineState extends LoadedState {
  revision: bigint;
}

export interface EngineOptions {
  databaseUrl: string;
  /** GATEHOUSE_BOOTSTRAP_ADMINS; merged with the stored instance owners (InstanceOwner). */
  bootstrapAdmins: readonly string[];
  pollMs?: number;
  /**
   * Decisions are refused (503, fail closed) once the last successful sync with the database is
   * older than this: an instance cut off from the change feed must not go on enforcing revoked
   * grants indefinitely. Default DEFAULT_MAX_STALENESS_MS.
   */
  maxStalenessMs?: number;
  /** Called after a sync with the non-policy kinds that changed (issuers, proxy credentials). */
  onChange?: (changes: ReadonlyMap<ChangeKind, ReadonlySet<string>>) => void | Promise<void>;
  log?: (message: string) => void;
}

/** A snapshot older than this (no successful sync) is reported stale by health(). */
export const STALE_AFTER_MS = 5_000;
/** Default bound on the snapshot's age past which decisions fail closed (GATEHOUSE_MAX_STALENESS_SECONDS). */
export const DEFAULT_MAX_STALENESS_MS = 60_000;

export class PolicyEngine {
  private state!: EngineState;
  private lastSyncAt = 0;
  private lastError: string | null = null;
  private listener: pg.Client | null = null;
  private listening = false;
  private timer: NodeJS.Timeout | null = null;
  private syncing: Promise<void> | null = null;
  private again = false;
  private waiters: { revision: bigint; resolve: (ok: boolean) => void }[] = [];
  private stopped = false;
  /** A revision this process is committing and will adopt (expectAdopt): syncs leave it to adopt. */
  private adopting: bigint | null = null;

  private readonly maxStalenessMs: number;

  constructor(
    private readonly prisma: PrismaClient,
    private readonly opts: EngineOptions,
  ) {
    this.maxStalenessMs = opts.maxStalenessMs ?? DEFAULT_MAX_STALENESS_MS;
  }

  /** Loads the snapshot and starts following changes. */
  async start(): Promise<void> {
    await this.fullLoad();
    await this.listen();
    this.timer = setInterval(() => void this.sync(), this.opts.pollMs ?? 1000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    for (const w of this.waiters.splice(0)) w.resolve(false);
    await this.listener?.end().catch(() => {});
  }

  /** GATEHOUSE_BOOTSTRAP_ADMINS (the stored instance owners are in the state). */
  get bootstrapAdmins(): readonly string[] {
    return this.opts.bootstrapAdmins;
  }

  /** The current state; read once per request (it is replaced, never mutated). */
  current(): EngineState {
    return this.state;
  }

  /** Hot path: whether the snapshot is recent enough to decide on (see maxStalenessMs). */
  isFresh(now: number): boolean {
    return now - this.lastSyncAt <= this.maxStalenessMs;
  }

  health(now = Date.now()): { revision: string; lastSyncAt: string; stale: boolean; fresh: boolean; listening: boolean; error: string | null } {
    return {
      revision: this.state.revision.toString(),
      lastSyncAt: new Date(this.lastSyncAt).toISOString(),
      stale: now - this.lastSyncAt > STALE_AFTER_MS,
      fresh: this.isFresh(now),
      listening: this.listening,
      error: this.lastError,
    };
  }

  /**
   * Read-your-writes: resolves true once the snapshot has reached `revision`, false after
   * `timeoutMs` (the caller then fails closed).
   */
  async waitFor(revision: bigint, timeoutMs: number): Promise<boolean> {
    if (this.state.revision >= revision) return true;
    const reached = new Promise<boolean>((resolve) => {
      this.waiters.push({ revision, resolve });
      setTimeout(() => resolve(false), timeoutMs).unref();
    });
    void this.sync();
    return reached;
  }

  /**
   * A policy-only revision committed by this process (lib/admin/mutation.ts): applied from the
   * rows as written, without reading them back, when the snapshot is still at `from` — the
   * next write here need not wait for the change feed. Anything else is left to sync(), which
   * finds the revision already reached (or, having raced ahead, applies the same rows).
   */
  adopt(from: bigint, to: bigint, policies: ReadonlyMap<string, StoredPolicy>): void {
    if (this.adopting === to) this.adopting = null;
    if (this.stopped) return;
    if (this.state.revision !== from || to !== from + 1n) {
      // A sync may have left `to` to this adopt (expectAdopt): it is the feed's again.
      void this.sync();
      return;
    }
    let snapshot = this.state.snapshot;
    for (const [name, row] of policies) snapshot = withPolicy(snapshot, toPolicy(name, row, this.state.owners), to);
    this.state = { ...this.state, snapshot, revision: to };
    this.release();
  }

  /**
   * A mutation of this process is about to commit `to` and will adopt it: a sync that finds the
   * database at `to` (its NOTIFY can arrive before the commit's answer) does not read it back —
   * on the writing instance that read, and the compile after it, were the write's work twice.
   */
  expectAdopt(to: bigint): void {
    this.adopting = to;
  }

  /** The commit expectAdopt announced failed, or its outcome is unknown: the feed decides. */
  cancelAdopt(to: bigint): void {
    if (this.adopting !== to) return;
    this.adopting = null;
    if (!this.stopped) void this.sync();
  }

  /** Brings the snapshot up to the database's revision. Concurrent calls coalesce. */
  sync(): Promise<void> {
    if (this.syncing) {
      this.again = true;
      return this.syncing;
    }
    this.syncing = (async () => {
      try {
        do {
          this.again = false;
          await this.syncOnce();
        } while (this.again && !this.stopped);
        this.lastSyncAt = Date.now();
        this.lastError = null;
      } catch (e) {
        this.lastError = e instanceof Error ? e.message : String(e);
      } finally {
        this.syncing = null;
        this.release();
      }
    })();
    return this.syncing;
  }

  private release(): void {
    const rev = this.state.revision;
    this.waiters = this.waiters.filter((w) => {
      if (w.revision <= rev) {
        w.resolve(true);
        return false;
      }
      return true;
    });
  }

  private async fullLoad(): Promise<void> {
    const started = performance.now();
    const { revision, data, side, owners } = await this.prisma.$transaction(
      async (tx) => {
        const owners = await loadOwners(tx, this.opts.bootstrapAdmins);
        return { ...(await loadAll(tx, owners)), owners };
      },
      { isolationLevel: Prisma.TransactionIsolationLevel.RepeatableRead, timeout: 120_000 },
    );
    // Never back: an adopted write may already be ahead of what this load read.
    if (!this.state || revision >= this.state.revision) this.state = { snapshot: compile(data, revision), side, owners, revision };
    this.lastSyncAt = Date.now();
    this.opts.log?.(`policy snapshot loaded at revision ${revision} in ${Math.round(performance.now() - started)} ms (${data.nodes.length} nodes, ${data.policies?.length ?? 0} policies, ${data.groups?.length ?? 0} groups)`);
  }

  private async syncOnce(): Promise<void> {
    const from = this.state.revision;
    // The database's revision and what changed up to it, in one round trip.
    const [row] = await this.prisma.$queryRaw<{ value: bigint; changes: string }[]>`
      SELECT r.value, COALESCE((SELECT json_agg(json_build_array(c.revision::text, c.kind, c.key)) FROM "PolicyChange" c
        WHERE c.revision > ${from} AND c.revision <= r.value), '[]'::json)::text AS changes
      FROM "PolicyRevision" r WHERE r.id = 1`;
    const to = row ? BigInt(row.value) : 0n;
    // Reached already, or meanwhile (adopted while this query ran); or our own commit, about
    // to be adopted (a later revision than it is read as always).
    if (to <= this.state.revision) return;
    if (this.adopting !== null && to <= this.adopting) return;
    const changes = (JSON.parse(row!.changes) as [string, string, string][]).map(([revision, kind, key]) => ({ revision: BigInt(revision), kind, key }));
    const seen = new Set(changes.map((c) => c.revision));
    let complete = true;
    for (let r = from + 1n; r <= to; r++) if (!seen.has(r)) complete = false;
    if (!complete) {
      this.opts.log?.(`change feed has a gap between revisions ${from} and ${to}: full reload`);
      // Issuers and credentials first: a revision is reached (waitFor) only once all of it is in.
      await this.opts.onChange?.(new Map([["trustedIssuer", new Set(["*"])], ["proxyCredential", new Set(["*"])]]));
      await this.fullLoad();
      return;
    }
    const byKind = new Map<ChangeKind, Set<string>>();
    for (const c of changes) {
      const kind = c.kind as ChangeKind;
      let set = byKind.get(kind);
      if (!set) byKind.set(kind, (set = new Set()));
      set.add(c.key);
    }
    // Each changed policy as the last revision to change it kept it (its PolicyVersion): a
    // policy of 1,000 members is not aggregated from its rows again by every instance.
    const lastChange = new Map<string, bigint>();
    for (const c of changes) if (c.kind === "policy" && c.revision > (lastChange.get(c.key) ?? -1n)) lastChange.set(c.key, c.revision);
    const known = await readPolicyVersions(this.prisma, [...lastChange].map(([resourceName, revision]) => ({ resourceName, revision })));
    const next = { ...(await applyChanges(this.prisma, this.state, byKind, to, this.opts.bootstrapAdmins, known)), revision: to };
    // Issuers and credentials first: a revision is reached (waitFor) only once all of it is in.
    await this.opts.onChange?.(byKind);
    // INVARIANT: the revision only moves forward. A write of this process may have been adopted
    // meanwhile (adopt: complete for its revision), past `to`: then this older result is dropped.
    if (next.revision > this.state.revision) this.state = next;
  }

  private async listen(): Promise<void> {
    if (this.stopped) return;
    const client = new pg.Client({ connectionString: this.opts.databaseUrl });
    client.on("notification", (n) => {
      // The payload is the committed revision: one reached already, or about to be adopted, needs
      // no sync (the poll still runs; a payload that is not a revision syncs).
      const revision = /^\d+$/.test(n.payload ?? "") ? BigInt(n.payload!) : null;
      if (revision !== null && (revision <= this.state.revision || (this.adopting !== null && revision <= this.adopting))) return;
      void this.sync();
    });
    client.on("error", (e) => {
      this.listening = false;
      this.lastError = e.message;
    });
    client.on("end", () => {
      this.listening = false;
      if (!this.stopped) setTimeout(() => void this.listen().catch(() => {}), 1000).unref();
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${REVISION_CHANNEL}`);
      this.listener = client;
      this.listening = true;
      // Anything committed between the load and LISTEN is caught by this sync.
      void this.sync();
    } catch (e) {
      this.lastError = e instanceof Error ? e.message : String(e);
      await client.end().catch(() => {});
    }
  }
}
