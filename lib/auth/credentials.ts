// The password check behind the console's credentials sign-in (lib/auth/config.ts authorize).
//
// INVARIANTS
// - The answer never tells whether an account exists: unknown emails, SSO-only accounts (no
//   password), disabled principals and wrong passwords all answer "invalid", and each of them
//   costs one password hash at the current parameters (unknown ones against a dummy hash).
// - Every attempt is counted per account and per client address before the hash runs
//   (lib/auth/throttle.ts); a throttled attempt answers "throttled" with the wait, for known and
//   unknown emails alike.
// - A success with a hash made under older parameters re-hashes the password at the current ones.
import type { PrismaClient } from "@/lib/generated/prisma/client";
import { dummyHash, hashPassword, needsRehash, PASSWORD_PARAMS, verifyPassword, type ScryptParams } from "./password";
import { ACCOUNT_RULE, ADDRESS_RULE, accountKey, addressKey, beginAttempt, recordSuccess } from "./throttle";

export interface SignedInUser {
  id: string;
  email: string;
  name: string | null;
  /** Signed in with a one-time password: must choose a new one before anything else. */
  mustChangePassword: boolean;
}

export type CredentialsResult = { ok: true; user: SignedInUser } | { ok: false; reason: "invalid" } | { ok: false; reason: "throttled"; retryAfterMs: number };

/** Sign-in emails compare lower-cased (as IAM member strings do); the throttle uses the same form. */
export function normaliseSignInEmail(email: string): string {
  return email.trim().toLowerCase();
}

export async function checkCredentials(
  db: PrismaClient,
  input: { email: string; password: string; address: string | null },
  opts: { now?: Date; params?: ScryptParams } = {},
): Promise<CredentialsResult> {
  const params = opts.params ?? PASSWORD_PARAMS;
  // Made once per process; awaited first so that the very first attempt costs the same either way.
  const dummy = await dummyHash(params);
  const email = normaliseSignInEmail(input.email);
  const account = accountKey(email);
  const address = { key: addressKey(input.address), rule: ADDRESS_RULE };

  const start = await beginAttempt(db, [{ key: account, rule: ACCOUNT_RULE }, address], opts.now);
  if (!start.allowed) return { ok: false, reason: "throttled", retryAfterMs: start.retryAfterMs };
  const failed = (): CredentialsResult =>
    start.lockedForMs !== null ? { ok: false, reason: "throttled", retryAfterMs: start.lockedForMs } : { ok: false, reason: "invalid" };

  // Non-ASCII never matches an account (emails are stored as lower-case ASCII); it still costs a hash.
  const ascii = /^[\x21-\x7e]+$/.test(email);
  const [user, principal] = ascii
    ? await Promise.all([
        db.user.findUnique({ where: { email }, select: { id: true, email: true, name: true, passwordHash: true, passwordMustChange: true } }),
        db.principal.findUnique({ where: { email }, select: { kind: true, disabled: true } }),
      ])
    : [null, null];
  const stored = user?.passwordHash ?? dummy;
  const matches = await verifyPassword(input.password, stored);
  if (!user?.passwordHash || !matches) return failed();
  // A disabled principal cannot sign in (nor can an address that is a service account's).
  if (principal && (principal.disabled || principal.kind !== "USER")) return failed();

  await recordSuccess(db, { account, address });
  if (needsRehash(stored, params)) {
    const upgraded = await hashPassword(input.password, params);
    await db.user.updateMany({ where: { id: user.id, passwordHash: stored }, data: { passwordHash: upgraded } });
  }
  return { ok: true, user: { id: user.id, email: user.email, name: user.name, mustChangePassword: user.passwordMustChange } };
}
