// Console accounts, the read side the sign-in needs (session standing, listings, instance
// owners) and the user's own password change. Creating, disabling, deleting users and resetting
// their passwords are admin methods: lib/admin/users.ts, through runMutation like every change.
import type { PrismaClient } from "@/lib/generated/prisma/client";
import { AppError } from "@/lib/errors";
import { recordAdminActivity } from "@/lib/audit/admin";
import { hashPassword, PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH, verifyPassword } from "./password";

const LOCAL_SERVICE = "gatehouse.local";

export interface ConsoleUserListing {
  email: string;
  name: string | null;
  /** Has a console account (User row); owners may exist before signing in for the first time. */
  account: boolean;
  password: "none" | "set" | "one-time";
  sso: boolean;
  owner: boolean;
  disabled: boolean;
}

export async function findConsoleUsers(db: PrismaClient): Promise<ConsoleUserListing[]> {
  const [users, owners] = await Promise.all([
    db.user.findMany({ orderBy: { email: "asc" }, select: { email: true, name: true, passwordHash: true, passwordMustChange: true, accounts: { select: { provider: true } } } }),
    db.instanceOwner.findMany({ select: { email: true } }),
  ]);
  const ownerSet = new Set(owners.map((o) => o.email));
  const emails = [...new Set([...users.map((u) => u.email), ...ownerSet])].sort();
  const principals = new Map((await db.principal.findMany({ where: { email: { in: emails } }, select: { email: true, disabled: true } })).map((p) => [p.email, p]));
  const byEmail = new Map(users.map((u) => [u.email, u]));
  return emails.map((email) => {
    const u = byEmail.get(email);
    return {
      email,
      name: u?.name ?? null,
      account: Boolean(u),
      password: !u?.passwordHash ? "none" : u.passwordMustChange ? "one-time" : "set",
      sso: Boolean(u?.accounts.length),
      owner: ownerSet.has(email),
      disabled: principals.get(email)?.disabled ?? false,
    };
  });
}

/** Emails stored as instance owners (lib/decide/engine.ts merges them with GATEHOUSE_BOOTSTRAP_ADMINS). */
export async function findInstanceOwners(db: Pick<PrismaClient, "instanceOwner">): Promise<string[]> {
  return (await db.instanceOwner.findMany({ select: { email: true }, orderBy: { email: "asc" } })).map((o) => o.email);
}

/** True when nobody can administer this instance yet: no console account, no bootstrap admin. */
export async function needsFirstAdmin(db: PrismaClient, bootstrapAdmins: readonly string[]): Promise<boolean> {
  if (bootstrapAdmins.length > 0) return false;
  const [users, owners] = await Promise.all([db.user.count(), db.instanceOwner.count()]);
  return users === 0 && owners === 0;
}

export type SessionStanding = { ok: false } | { ok: true; name: string | null; passwordMustChange: boolean };

/**
 * Whether a console session of `email`, signed in at `authAt` (ms), still stands: the account
 * exists, its principal is not disabled, and no password reset happened since.
 */
export async function sessionStanding(db: PrismaClient, email: string, authAt: number | undefined): Promise<SessionStanding> {
  const [user, principal] = await Promise.all([
    db.user.findUnique({ where: { email }, select: { name: true, passwordMustChange: true, sessionsValidAfter: true } }),
    db.principal.findUnique({ where: { email }, select: { disabled: true } }),
  ]);
  if (!user || principal?.disabled) return { ok: false };
  if (user.sessionsValidAfter && (authAt ?? 0) < user.sessionsValidAfter.getTime()) return { ok: false };
  return { ok: true, name: user.name, passwordMustChange: user.passwordMustChange };
}

export const PASSWORD_RULES = `at least ${PASSWORD_MIN_LENGTH} characters`;

/** Replaces a one-time password with one the user chose. */
export async function chooseNewPassword(db: PrismaClient, input: { email: string; password: string }): Promise<void> {
  if (input.password.length < PASSWORD_MIN_LENGTH) throw new AppError("INVALID_ARGUMENT", `Choose a password of ${PASSWORD_RULES}`);
  if (input.password.length > PASSWORD_MAX_LENGTH) throw new AppError("INVALID_ARGUMENT", `A password has at most ${PASSWORD_MAX_LENGTH} characters`);
  const user = await db.user.findUnique({ where: { email: input.email }, select: { id: true, passwordHash: true, passwordMustChange: true } });
  if (!user?.passwordMustChange) throw new AppError("FAILED_PRECONDITION", "There is no one-time password to replace");
  if (user.passwordHash && (await verifyPassword(input.password, user.passwordHash))) {
    throw new AppError("INVALID_ARGUMENT", "Choose a password other than the one-time password");
  }
  const passwordHash = await hashPassword(input.password);
  await db.$transaction(async (tx) => {
    // Only while the one-time password is still the current one (two tabs cannot both replace it).
    const { count } = await tx.user.updateMany({ where: { id: user.id, passwordMustChange: true }, data: { passwordHash, passwordMustChange: false } });
    if (count === 0) throw new AppError("FAILED_PRECONDITION", "There is no one-time password to replace");
    await recordAdminActivity(tx, [
      { actor: `user:${input.email}`, methodName: "ChangeConsolePassword", serviceName: LOCAL_SERVICE, resourceName: `users/${input.email}`, request: { email: input.email } },
    ]);
  });
}
