// Password sign-in throttling, per account and per client address, stored in PostgreSQL
// (SignInThrottle) so that every instance enforces the same counts.
//
// Windows (INVARIANT: the same for known and unknown accounts, so throttling reveals nothing):
//   - account (lower-cased email): 5 attempts free; the 5th failure and each later one lock
//     password sign-in for that email for 1, 2, 4, 8, 16, then 30 minutes (cap). A success resets.
//   - address (IPv4 address, or the /64 of an IPv6 address): 20 attempts free, then the same
//     1 → 30 minute backoff. A success gives back only its own attempt: owning one account must
//     not buy guesses at others.
//   - counts are forgotten after an hour without attempts (and once no lock is in force).
//
// Attempts are counted when they START, in a transaction that locks the rows: concurrent
// guesses cannot all slip in before the first failure is recorded. A throttled attempt is
// refused before any password hashing, and does not extend the lock (an attacker who keeps
// guessing cannot keep the owner out for longer than the backoff schedule allows).
import { createHash } from "node:crypto";
import ipaddr from "ipaddr.js";
import { Prisma, type PrismaClient } from "@/lib/generated/prisma/client";

export interface ThrottleRule {
  /** Attempts allowed before the first lock. */
  free: number;
  /** First lock; doubled for every further failure. */
  baseLockMs: number;
  maxLockMs: number;
}

export const ACCOUNT_RULE: ThrottleRule = { free: 5, baseLockMs: 60_000, maxLockMs: 30 * 60_000 };
export const ADDRESS_RULE: ThrottleRule = { free: 20, baseLockMs: 60_000, maxLockMs: 30 * 60_000 };
/** A count with no attempt for this long (and no lock in force) starts again from zero. */
export const FORGET_AFTER_MS = 60 * 60_000;
/** Rows idle this long are deleted. */
const PRUNE_AFTER_MS = 24 * 60 * 60_000;

export function accountKey(email: string): string {
  return `account:${createHash("sha256").update(email.trim().toLowerCase()).digest("hex")}`;
}

/**
 * The address bucket of a client: an IPv4 address, or the /64 of an IPv6 address (one host
 * usually holds a whole /64); IPv4-mapped IPv6 counts as IPv4. Anything unparsable shares one
 * bucket, which fails closed.
 */
export function addressKey(address: string | null | undefined): string {
  const raw = (address ?? "").trim().replace(/^\[|\]$/g, "").replace(/%.*$/, "");
  if (!raw || !ipaddr.isValid(raw)) return "address:unknown";
  const ip = ipaddr.process(raw);
  if (ip.kind() === "ipv4") return `address:${ip.toString()}`;
  const parts = (ip as ipaddr.IPv6).parts.slice(0, 4);
  return `address:${new ipaddr.IPv6([...parts, 0, 0, 0, 0]).toString()}/64`;
}

export function lockDuration(rule: ThrottleRule, failures: number): number | null {
  if (failures < rule.free) return null;
  return Math.min(rule.maxLockMs, rule.baseLockMs * 2 ** Math.min(failures - rule.free, 30));
}

export interface ThrottleKey {
  key: string;
  rule: ThrottleRule;
}

export type AttemptStart =
  | { allowed: true; /** Set when this attempt, should it fail, leaves a lock in force. */ lockedForMs: number | null }
  | { allowed: false; retryAfterMs: number };

interface Row {
  key: string;
  failures: number;
  lastAttemptAt: Date;
  lockedUntil: Date | null;
}

/** Counts the start of an attempt against every key, or refuses it while any key is locked. */
export async function beginAttempt(db: PrismaClient, keys: readonly ThrottleKey[], now: Date = new Date()): Promise<AttemptStart> {
  // Rows are locked in key order, so concurrent attempts cannot deadlock.
  const sorted = [...new Map(keys.map((k) => [k.key, k])).values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const result = await db.$transaction(
    async (tx) => {
      const names = sorted.map((k) => k.key);
      await tx.signInThrottle.createMany({ data: names.map((key) => ({ key, lastAttemptAt: now })), skipDuplicates: true });
      await tx.$queryRaw`SELECT key FROM "SignInThrottle" WHERE key IN (${Prisma.join(names)}) ORDER BY key COLLATE "C" FOR UPDATE`;
      const found = new Map((await tx.signInThrottle.findMany({ where: { key: { in: names } } })).map((r) => [r.key, r]));
      const rows: Row[] = names.map((k) => found.get(k)!);
      let retryAfterMs = 0;
      for (const row of rows) {
        if (row.lockedUntil && row.lockedUntil > now) retryAfterMs = Math.max(retryAfterMs, row.lockedUntil.getTime() - now.getTime());
      }
      if (retryAfterMs > 0) return { allowed: false as const, retryAfterMs };
      let lockedForMs: number | null = null;
      for (let i = 0; i < rows.length; i++) {
        const row = rows[i]!;
        const rule = sorted[i]!.rule;
        const quietSince = Math.max(row.lastAttemptAt.getTime(), row.lockedUntil?.getTime() ?? 0);
        const failures = (now.getTime() - quietSince > FORGET_AFTER_MS ? 0 : row.failures) + 1;
        const lock = lockDuration(rule, failures);
        if (lock !== null) lockedForMs = Math.max(lockedForMs ?? 0, lock);
        const lockedUntil = lock === null ? null : new Date(now.getTime() + lock);
        await tx.signInThrottle.update({ where: { key: row.key }, data: { failures, lastAttemptAt: now, lockedUntil } });
      }
      return { allowed: true as const, lockedForMs };
    },
    { isolationLevel: Prisma.TransactionIsolationLevel.ReadCommitted },
  );
  if (Math.random() < 0.02) void pruneThrottle(db, now).catch(() => {});
  return result;
}

/**
 * After a successful sign-in: the account starts again from zero; the address gets back the
 * attempt that was counted for it (and the lock that attempt may have set).
 */
export async function recordSuccess(db: PrismaClient, keys: { account: string; address: ThrottleKey }): Promise<void> {
  const { key, rule } = keys.address;
  await db.$transaction([
    db.$executeRaw`DELETE FROM "SignInThrottle" WHERE key = ${keys.account}`,
    db.$executeRaw`UPDATE "SignInThrottle" SET failures = GREATEST(failures - 1, 0),
      "lockedUntil" = CASE WHEN failures - 1 < ${rule.free} THEN NULL ELSE "lockedUntil" END WHERE key = ${key}`,
  ]);
}

/** Forgets an account's count (an administrator reset its password). */
export async function clearAccountThrottle(db: Prisma.TransactionClient | PrismaClient, email: string): Promise<void> {
  await db.signInThrottle.deleteMany({ where: { key: accountKey(email) } });
}

export async function pruneThrottle(db: PrismaClient, now: Date = new Date()): Promise<number> {
  const before = new Date(now.getTime() - PRUNE_AFTER_MS);
  const { count } = await db.signInThrottle.deleteMany({
    where: { lastAttemptAt: { lt: before }, OR: [{ lockedUntil: null }, { lockedUntil: { lt: now } }] },
  });
  return count;
}

/** "try again in 3 minutes" */
export function retryAfterText(ms: number): string {
  const minutes = Math.max(1, Math.ceil(ms / 60_000));
  return `${minutes} minute${minutes === 1 ? "" : "s"}`;
}
