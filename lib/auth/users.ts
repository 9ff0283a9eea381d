// Console accounts: the IAM principal user:{email} plus the console's User row that signs in.
// Used by the CLI (`user create|reset-password|disable|enable|list`) and the console's
// "choose a new password" page.
//
// Writes follow today's recipe (lib/auth/proxy-keys.ts createProxyKey): IAM changes (the
// principal, the instance owners) bump the revision, record what changed on the feed and write
// their admin-activity entries in the same transaction. Console-account changes that the engine
// does not see (a password) write their audit entry in their own transaction, without a revision.
import type { PrismaClient } from "@/lib/generated/prisma/client";
import { AppError } from "@/lib/errors";
import { recordAdminActivity, type AdminActivity } from "@/lib/audit/admin";
import { bumpRevision, recordChanges, type PolicyChangeRef } from "@/lib/db/revision";
import { checkEmail } from "@/lib/policy/members";
import { principalForEmail } from "@/lib/identity/verify";
import { generatePassword, hashPassword, PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH, verifyPassword } from "./password";
import { clearAccountThrottle } from "./throttle";

const USERS_SERVICE = "admin.googleapis.com";
const LOCAL_SERVICE = "gatehouse.local";

/** A user's email in canonical form, refused when it is not an acceptable user address. */
export function userEmail(input: string): string {
  const r = checkEmail(input.trim());
  if (!r.ok) throw new AppError("INVALID_ARGUMENT", r.error);
  if (principalForEmail(r.value) !== `user:${r.value}`) throw new AppError("INVALID_ARGUMENT", `${r.value} is a service-account address, not a user`);
  return r.value;
}

export interface CreatedUser {
  email: string;
  principal: string;
  /** The IAM principal was created (it may have existed already, e.g. from a world file). */
  principalCreated: boolean;
  owner: boolean;
  /** One-time: the first sign-in with it must choose a new password. */
  password: string;
  revision: bigint | null;
}

/**
 * Creates the principal user:{email} (unless it exists) and a console account with a one-time
 * password; with `owner`, makes the user an instance owner (roles/owner on every organization,
 * present and future, like GATEHOUSE_BOOTSTRAP_ADMINS).
 */
export async function createConsoleUser(
  db: PrismaClient,
  input: { email: string; displayName?: string; owner?: boolean; actor: string },
): Promise<CreatedUser> {
  const email = userEmail(input.email);
  const displayName = (input.displayName ?? "").trim();
  if (displayName.length > 100) throw new AppError("INVALID_ARGUMENT", "a display name has at most 100 characters");
  const password = generatePassword();
  const passwordHash = await hashPassword(password);
  return db.$transaction(async (tx) => {
    if (await tx.user.findUnique({ where: { email }, select: { id: true } })) {
      throw new AppError("ALREADY_EXISTS", `${email} already has a console account (give it a new one-time password with \`user reset-password --email ${email}\`)`);
    }
    const existing = await tx.principal.findUnique({ where: { email }, select: { kind: true } });
    if (existing && existing.kind !== "USER") throw new AppError("FAILED_PRECONDITION", `${email} is a service account`);
    const changes: PolicyChangeRef[] = [];
    const audit: Omit<AdminActivity, "revision">[] = [];
    if (!existing) {
      await tx.principal.create({ data: { kind: "USER", email, displayName } });
      changes.push({ kind: "principal", key: email });
      audit.push({ actor: input.actor, methodName: "CreateUser", serviceName: USERS_SERVICE, resourceName: `users/${email}`, request: { email, displayName, source: "cli" } });
    }
    if (input.owner && !(await tx.instanceOwner.findUnique({ where: { email } }))) {
      await tx.instanceOwner.create({ data: { email, createdBy: input.actor } });
      changes.push({ kind: "instanceOwners", key: email });
      audit.push({
        actor: input.actor,
        methodName: "AddInstanceOwner",
        serviceName: LOCAL_SERVICE,
        resourceName: `instanceOwners/${email}`,
        bindingDeltas: [{ action: "ADD", role: "roles/owner", member: `user:${email}` }],
        request: { email, scope: "every organization" },
      });
    }
    await tx.user.create({ data: { email, name: displayName || null, passwordHash, passwordMustChange: true } });
    audit.push({ actor: input.actor, methodName: "CreateConsoleAccount", serviceName: LOCAL_SERVICE, resourceName: `users/${email}`, request: { email, oneTimePassword: true } });
    let revision: bigint | null = null;
    if (changes.length) {
      revision = await bumpRevision(tx);
      await recordChanges(tx, revision, changes);
    }
    await recordAdminActivity(tx, audit.map((a) => (revision === null ? a : { ...a, revision })));
    return { email, principal: `user:${email}`, principalCreated: !existing, owner: Boolean(input.owner), password, revision };
  });
}

/** A new one-time password; sessions signed in before it stop working, and the throttle forgets the account. */
export async function resetConsolePassword(db: PrismaClient, input: { email: string; actor: string; now?: Date }): Promise<{ email: string; password: string }> {
  const email = userEmail(input.email);
  const password = generatePassword();
  const passwordHash = await hashPassword(password);
  await db.$transaction(async (tx) => {
    const user = await tx.user.findUnique({ where: { email }, select: { id: true } });
    if (!user) throw new AppError("NOT_FOUND", `${email} has no console account (create one with \`user create --email ${email}\`)`);
    await tx.user.update({ where: { id: user.id }, data: { passwordHash, passwordMustChange: true, sessionsValidAfter: input.now ?? new Date() } });
    await clearAccountThrottle(tx, email);
    await recordAdminActivity(tx, [
      { actor: input.actor, methodName: "ResetConsolePassword", serviceName: LOCAL_SERVICE, resourceName: `users/${email}`, request: { email, oneTimePassword: true } },
    ]);
  });
  return { email, password };
}

/** Disables or enables the principal user:{email}: a disabled user cannot sign in, and its sessions end. */
export async function setUserDisabled(db: PrismaClient, input: { email: string; disabled: boolean; actor: string }): Promise<{ changed: boolean; revision: bigint | null }> {
  const email = userEmail(input.email);
  return db.$transaction(async (tx) => {
    const p = await tx.principal.findUnique({ where: { email }, select: { kind: true, disabled: true } });
    if (!p || p.kind !== "USER") throw new AppError("NOT_FOUND", `no user principal user:${email}`);
    if (p.disabled === input.disabled) return { changed: false, revision: null };
    await tx.principal.update({ where: { email }, data: { disabled: input.disabled } });
    const revision = await bumpRevision(tx);
    await recordChanges(tx, revision, [{ kind: "principal", key: email }]);
    await recordAdminActivity(tx, [
      {
        actor: input.actor,
        methodName: input.disabled ? "DisableUser" : "EnableUser",
        serviceName: USERS_SERVICE,
        resourceName: `users/${email}`,
        request: { email, disabled: input.disabled, source: "cli" },
        revision,
      },
    ]);
    return { changed: true, revision };
  });
}

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
