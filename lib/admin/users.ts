// Users through the admin API: the IAM principal user:{email} together with its console account
// (the User row that signs in with a password or SSO). One function per method for every
// transport — the REST routes below and the CLI's `user create|reset-password|disable|enable`.
// lib/auth/users.ts keeps the read side the sign-in needs (sessionStanding, listings).
//
// Authorisation: gatehouse.users.{get,list,create,update,delete} on the organization whose domain
// is the user's email domain (instance-wide for a domain no organization has: authz.ts
// authorizeForDomain). Besides that permission:
//   - a console password handed to the actor (a new account's one-time password, a reset) is a
//     credential of that user: refused when the user holds more than the actor (act-as.ts);
//   - instance owners (roles/owner on every organization, present and future) are made, disabled
//     and deleted only by instance owners (or the CLI): no organization's admin governs them.
//   - deleting a user rewrites its bindings and memberships to deleted:user:{email}?uid={id} and
//     removes its console account and instance ownership, so a new account with the same email
//     inherits nothing.
// Every call leaves one admin-activity record (a password is never in it).
import { z } from "zod";
import type { Prisma } from "@/lib/generated/prisma/client";
import { AppError } from "@/lib/errors";
import { checkEmail } from "@/lib/policy/members";
import { principalForEmail } from "@/lib/identity/verify";
import { generatePassword, hashPassword } from "@/lib/auth/password";
import { clearAccountThrottle } from "@/lib/auth/throttle";
import type { Actor, AdminContext } from "./context";
import { domainOrganizations, runMutation } from "./mutation";
import { parse } from "./validation";
import { ZPageQuery, type PageQuery } from "./paging";
import { reader } from "./reader";
import { revisionHeader, route } from "./routes";
import { visiblePage } from "./visible-page";
import { checkActAs } from "./act-as";
import { permissionDenied } from "./authz";

const USERS_SERVICE = "admin.googleapis.com";

/** A user's email in canonical form, refused when it is not an acceptable user address. */
export function userEmail(input: string): string {
  const r = checkEmail(input.trim());
  if (!r.ok) throw new AppError("INVALID_ARGUMENT", r.error, [{ path: "email", message: r.error }]);
  if (principalForEmail(r.value) !== `user:${r.value}`) {
    throw new AppError("INVALID_ARGUMENT", `${r.value} is a service-account address, not a user`, [{ path: "email", message: "a service-account address" }]);
  }
  return r.value;
}

export const ZCreateUser = z.strictObject({
  email: z.string().min(3).max(320),
  displayName: z.string().trim().max(100, "a display name has at most 100 characters").optional(),
  /** An instance owner: roles/owner on every organization, present and future. Only an instance owner makes one. */
  owner: z.boolean().optional(),
  /** Create the console account with a one-time password (shown once). Default true; false: the principal only (SSO users). */
  consoleAccount: z.boolean().optional(),
});
export const ZUpdateUser = z.strictObject({
  displayName: z.string().trim().max(100, "a display name has at most 100 characters").optional(),
  /** A disabled user cannot sign in, its sessions end, and it is denied everywhere (PRINCIPAL_DISABLED). */
  disabled: z.boolean().optional(),
});

export const ZUserJson = z.object({
  name: z.string(),
  email: z.string(),
  principal: z.string(),
  displayName: z.string(),
  disabled: z.boolean(),
  /** Null: no console account (SSO creates one at first sign-in). */
  consoleAccount: z.object({ password: z.enum(["none", "set", "one-time"]), sso: z.boolean() }).nullable(),
  owner: z.boolean(),
  createTime: z.string(),
});
export type UserJson = z.infer<typeof ZUserJson>;

type Db = AdminContext["db"] | Prisma.TransactionClient;

async function userJson(db: Db, email: string): Promise<UserJson | null> {
  const [p, u, owner] = await Promise.all([
    db.principal.findUnique({ where: { email }, select: { kind: true, displayName: true, disabled: true, createdAt: true } }),
    db.user.findUnique({ where: { email }, select: { passwordHash: true, passwordMustChange: true, createdAt: true, accounts: { select: { provider: true } } } }),
    db.instanceOwner.findUnique({ where: { email }, select: { email: true } }),
  ]);
  if (p?.kind !== "USER") return null;
  return {
    name: `users/${email}`,
    email,
    principal: `user:${email}`,
    displayName: p.displayName,
    disabled: p.disabled,
    consoleAccount: u ? { password: !u.passwordHash ? "none" : u.passwordMustChange ? "one-time" : "set", sso: u.accounts.length > 0 } : null,
    owner: Boolean(owner),
    createTime: p.createdAt.toISOString(),
  };
}

function ownersOf(ctx: AdminContext): readonly string[] {
  return ctx.engine?.current().owners ?? [];
}

function isInstanceOwner(actor: Actor, owners: readonly string[]): boolean {
  return actor.kind === "system" || (actor.principal.startsWith("user:") && owners.includes(actor.principal.slice(5)));
}

function requireInstanceOwner(actor: Actor, owners: readonly string[], what: string): void {
  if (!isInstanceOwner(actor, owners)) throw new AppError("PERMISSION_DENIED", `Only an instance owner can ${what}.`);
}

export interface CreatedUser {
  user: UserJson;
  /** The IAM principal was created (it may have existed already, e.g. from a world file). */
  principalCreated: boolean;
  /** One-time (the first sign-in must choose a new one); absent without a console account. */
  password?: string;
  revision: bigint | null;
}

/**
 * Creates the principal user:{email} (unless it exists) and, by default, its console account with
 * a one-time password; with `owner`, makes the user an instance owner.
 */
export async function createUser(ctx: AdminContext, input: unknown): Promise<CreatedUser> {
  const data = parse(ZCreateUser, input);
  const email = userEmail(data.email);
  const displayName = data.displayName ?? "";
  const account = data.consoleAccount ?? true;
  const password = account ? generatePassword() : undefined;
  const passwordHash = password ? await hashPassword(password) : undefined;
  const { value, revision } = await runMutation(ctx, async (m) => {
    await m.requireForDomain("gatehouse.users.create", email);
    const owners = ownersOf(ctx);
    if (data.owner) requireInstanceOwner(m.actor, owners, "make an instance owner");
    const [principal, user, owner] = await Promise.all([
      m.tx.principal.findUnique({ where: { email }, select: { kind: true } }),
      m.tx.user.findUnique({ where: { email }, select: { id: true } }),
      m.tx.instanceOwner.findUnique({ where: { email }, select: { email: true } }),
    ]);
    if (principal && principal.kind !== "USER") throw new AppError("FAILED_PRECONDITION", `${email} is a service account`);
    if (account && user) {
      throw new AppError("ALREADY_EXISTS", `${email} already has a console account (give it a new one-time password with \`user reset-password --email ${email}\`, or POST /api/v1/users/${email}:resetPassword)`);
    }
    const makeOwner = Boolean(data.owner) && !owner;
    if (principal && !account && !makeOwner) throw new AppError("ALREADY_EXISTS", `user:${email} already exists`);
    if (!principal) await m.write.upsertPrincipal({ email, kind: "USER", displayName });
    if (makeOwner) {
      await m.tx.instanceOwner.create({ data: { email, createdBy: m.actor.kind === "system" ? m.actor.name : m.actor.principal } });
      m.changed({ kind: "instanceOwners", key: email });
    }
    if (passwordHash) {
      // The one-time password comes back to the actor: a credential of the new user.
      if (m.before) checkActAs(m.before, m.actor, `user:${email}`, owners, m.now);
      await m.tx.user.create({ data: { email, name: displayName || null, passwordHash, passwordMustChange: true } });
    }
    m.audit({
      methodName: "CreateUser",
      serviceName: USERS_SERVICE,
      resourceName: `users/${email}`,
      ...(makeOwner ? { bindingDeltas: [{ action: "ADD" as const, role: "roles/owner", member: `user:${email}` }] } : {}),
      request: { email, displayName, consoleAccount: account, owner: Boolean(data.owner), ...(makeOwner ? { ownerScope: "every organization, present and future" } : {}) },
      response: { principalCreated: !principal, oneTimePassword: Boolean(password) },
    });
    return { user: (await userJson(m.tx, email))!, principalCreated: !principal };
  });
  return { ...value, ...(password ? { password } : {}), revision };
}

export async function getUser(ctx: AdminContext, emailInput: string): Promise<UserJson> {
  const email = userEmail(emailInput);
  await reader(ctx).requireForDomain("gatehouse.users.get", email);
  const user = await userJson(ctx.db, email);
  if (!user) throw new AppError("NOT_FOUND", `user:${email} does not exist`);
  return user;
}

/**
 * Users the caller may list: all of them with the permission instance-wide, else those of the
 * domains of the organizations where it holds gatehouse.users.list.
 */
export async function listUsers(ctx: AdminContext, query: PageQuery): Promise<{ users: UserJson[]; nextPageToken?: string }> {
  const r = reader(ctx);
  let domains: string[] | null = null;
  if (ctx.actor.kind === "principal") {
    try {
      r.requireInstance("gatehouse.users.list");
    } catch {
      domains = [...(await domainOrganizations(ctx.db))].filter(([, org]) => r.can("gatehouse.users.list", org)).map(([d]) => d);
      if (domains.length === 0) throw permissionDenied("gatehouse.users.list", "users");
    }
  }
  const page = await visiblePage(
    query,
    (after, take) =>
      ctx.db.principal.findMany({
        where: {
          kind: "USER",
          email: { ...(after !== undefined ? { gt: after } : {}), ...(query.filter ? { contains: query.filter, mode: "insensitive" as const } : {}) },
          ...(domains ? { OR: domains.map((d) => ({ email: { endsWith: `@${d}` } })) } : {}),
        },
        orderBy: { email: "asc" },
        take,
        select: { email: true },
      }),
    (p) => p.email,
    () => true,
  );
  const users = (await Promise.all(page.items.map((p) => userJson(ctx.db, p.email)))).filter((u): u is UserJson => u !== null);
  return { users, ...(page.nextPageToken ? { nextPageToken: page.nextPageToken } : {}) };
}

/** Changes a user's display name or disabled state (disabling ends its console sessions). */
export async function updateUser(ctx: AdminContext, emailInput: string, input: unknown): Promise<{ user: UserJson; changed: boolean; revision: bigint | null }> {
  const email = userEmail(emailInput);
  const data = parse(ZUpdateUser, input);
  const { value, revision } = await runMutation(ctx, async (m) => {
    await m.requireForDomain("gatehouse.users.update", email);
    const p = await m.tx.principal.findUnique({ where: { email }, select: { kind: true, displayName: true, description: true, disabled: true } });
    if (p?.kind !== "USER") throw new AppError("NOT_FOUND", `user:${email} does not exist`);
    const displayName = data.displayName ?? p.displayName;
    const disabled = data.disabled ?? p.disabled;
    if (displayName === p.displayName && disabled === p.disabled) return { user: (await userJson(m.tx, email))!, changed: false };
    if (disabled !== p.disabled && ownersOf(ctx).includes(email)) requireInstanceOwner(m.actor, ownersOf(ctx), `${disabled ? "disable" : "enable"} an instance owner`);
    await m.write.upsertPrincipal({ email, kind: "USER", displayName, description: p.description, disabled });
    if (displayName !== p.displayName) await m.tx.user.updateMany({ where: { email }, data: { name: displayName || null } });
    m.audit({
      methodName: "UpdateUser",
      serviceName: USERS_SERVICE,
      resourceName: `users/${email}`,
      request: { email, ...data },
      response: { before: { displayName: p.displayName, disabled: p.disabled } },
    });
    return { user: (await userJson(m.tx, email))!, changed: true };
  });
  return { ...value, revision };
}

/**
 * Deletes a user: its bindings and memberships become deleted:user:{email}?uid={id}; its console
 * account (sessions, SSO links) and its instance ownership go.
 */
export async function deleteUser(ctx: AdminContext, emailInput: string): Promise<{ deletedMember: string | null; revision: bigint | null }> {
  const email = userEmail(emailInput);
  const { value, revision } = await runMutation(ctx, async (m) => {
    await m.requireForDomain("gatehouse.users.delete", email);
    const [p, user, owner] = await Promise.all([
      m.tx.principal.findUnique({ where: { email }, select: { id: true, kind: true } }),
      m.tx.user.findUnique({ where: { email }, select: { id: true } }),
      m.tx.instanceOwner.findUnique({ where: { email }, select: { email: true } }),
    ]);
    if ((p && p.kind !== "USER") || (!p && !user && !owner)) throw new AppError("NOT_FOUND", `user:${email} does not exist`);
    if (owner) {
      requireInstanceOwner(m.actor, ownersOf(ctx), "delete an instance owner");
      await m.tx.instanceOwner.delete({ where: { email } });
      m.changed({ kind: "instanceOwners", key: email });
    }
    const deletedMember = p ? `deleted:user:${email}?uid=${p.id}` : null;
    if (p) await m.write.deletePrincipal(email);
    if (user) await m.tx.user.delete({ where: { email } });
    await clearAccountThrottle(m.tx, email);
    m.audit({ methodName: "DeleteUser", serviceName: USERS_SERVICE, resourceName: `users/${email}`, request: { email }, response: { deletedMember, consoleAccount: Boolean(user), owner: Boolean(owner) } });
    return deletedMember;
  });
  return { deletedMember: value, revision };
}

/** A new one-time password; sessions signed in before it stop working, and the throttle forgets the account. */
export async function resetUserPassword(ctx: AdminContext, emailInput: string): Promise<{ email: string; password: string; revision: bigint | null }> {
  const email = userEmail(emailInput);
  const password = generatePassword();
  const passwordHash = await hashPassword(password);
  const { revision } = await runMutation(ctx, async (m) => {
    await m.requireForDomain("gatehouse.users.update", email);
    const user = await m.tx.user.findUnique({ where: { email }, select: { id: true } });
    if (!user) throw new AppError("NOT_FOUND", `${email} has no console account (create one with \`user create --email ${email}\`)`);
    // The new password comes back to the actor: a credential of that user.
    if (m.before) checkActAs(m.before, m.actor, `user:${email}`, ownersOf(ctx), m.now);
    await m.tx.user.update({ where: { id: user.id }, data: { passwordHash, passwordMustChange: true, sessionsValidAfter: m.now } });
    await clearAccountThrottle(m.tx, email);
    m.audit({ methodName: "ResetConsolePassword", serviceName: "gatehouse.local", resourceName: `users/${email}`, request: { email, oneTimePassword: true } });
  });
  return { email, password, revision };
}

const TAG = "Users";

export const userRoutes = [
  route({
    method: "GET",
    path: "/api/v1/users",
    tag: TAG,
    summary: "List users (those of the domains whose organizations the caller may list users of)",
    query: ZPageQuery,
    response: z.object({ users: z.array(ZUserJson), nextPageToken: z.string().optional() }),
    handler: async (admin, req) => ({ body: await listUsers(admin, req.query) }),
  }),
  route({
    method: "POST",
    path: "/api/v1/users",
    tag: TAG,
    summary: "Create a user and its console account; the answer holds its one-time password, shown this once",
    body: ZCreateUser,
    response: z.object({ user: ZUserJson, principalCreated: z.boolean(), password: z.string().optional() }),
    handler: async (admin, req) => {
      const { revision, ...body } = await createUser(admin, req.body);
      return { status: 201, body, headers: revisionHeader(revision) };
    },
  }),
  route({
    method: "GET",
    path: "/api/v1/users/{email}",
    tag: TAG,
    summary: "Get a user",
    response: ZUserJson,
    handler: async (admin, req) => ({ body: await getUser(admin, req.params.email!) }),
  }),
  route({
    method: "PATCH",
    path: "/api/v1/users/{email}",
    tag: TAG,
    summary: "Change a user's display name, or disable / enable it",
    body: ZUpdateUser,
    response: z.object({ user: ZUserJson }),
    handler: async (admin, req) => {
      const { user, revision } = await updateUser(admin, req.params.email!, req.body);
      return { body: { user }, headers: revisionHeader(revision) };
    },
  }),
  route({
    method: "DELETE",
    path: "/api/v1/users/{email}",
    tag: TAG,
    summary: "Delete a user: its bindings become deleted:user:EMAIL?uid=ID, its console account and ownership go",
    response: z.object({ deletedMember: z.string().nullable() }),
    handler: async (admin, req) => {
      const { deletedMember, revision } = await deleteUser(admin, req.params.email!);
      return { body: { deletedMember }, headers: revisionHeader(revision) };
    },
  }),
  route({
    method: "POST",
    path: "/api/v1/users/{email}:resetPassword",
    tag: TAG,
    summary: "Give a user a new one-time password (shown this once); its sessions end",
    body: z.strictObject({}),
    response: z.object({ email: z.string(), password: z.string() }),
    handler: async (admin, req) => {
      const { revision, ...body } = await resetUserPassword(admin, req.params.email!);
      return { body, headers: revisionHeader(revision) };
    },
  }),
];
