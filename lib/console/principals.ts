// The Principals section's view models: users and service accounts as the viewer may see them
// (lib/admin's reads authorise), whether the viewer may change them, and each principal's
// effective access from the live engine.
import { listUsers, getUser, type UserJson } from "@/lib/admin/users";
import { getServiceAccount, listServiceAccountKeys, listServiceAccounts, type ServiceAccountJson, type ServiceAccountKeyJson } from "@/lib/admin/service-accounts";
import { domainOrganizations } from "@/lib/admin/mutation";
import { ZPageQuery } from "@/lib/admin/paging";
import { AppError } from "@/lib/errors";
import { checkEmail, RESOURCE_TYPES } from "@/lib/policy";
import { heldRoles, reachOf, type HeldRole, type Reach } from "./grants";
import { allowed, canSeePolicy, readable, viewer, type Readable } from "./identity";

export interface UsersPage {
  users: UserJson[];
  nextPageToken?: string;
  canCreate: boolean;
}

export async function getUsersPage(params: { filter?: string; pageToken?: string }): Promise<Readable<UsersPage>> {
  const { ctx, r } = await viewer();
  return readable(async () => {
    const page = await listUsers(ctx, ZPageQuery.parse({ pageSize: 50, ...params }));
    const orgs = [...(await domainOrganizations(ctx.db)).values()];
    const canCreate = orgs.some((o) => r.can("gatehouse.users.create", o)) || (await allowed(() => r.requireInstance("gatehouse.users.create")));
    return { ...page, canCreate };
  });
}

export interface ServiceAccountsPage {
  accounts: ServiceAccountJson[];
  /** Projects (ids) where the viewer may create service accounts. */
  creatableIn: string[];
  /** A project's list was cut at 200 accounts: filter to narrow. */
  truncated: boolean;
}

/** Service accounts of every project where the viewer may list them. */
export async function getServiceAccountsPage(params: { filter?: string }): Promise<Readable<ServiceAccountsPage>> {
  const { ctx, r } = await viewer();
  return readable(async () => {
    const projects = [...(r.snapshot?.nodes.values() ?? [])].filter((n) => n.type === RESOURCE_TYPES.project).map((n) => n.name);
    const listable = projects.filter((p) => r.can("iam.serviceAccounts.list", p));
    if (listable.length === 0) throw new AppError("PERMISSION_DENIED", "You hold iam.serviceAccounts.list on no project.");
    const pages = await Promise.all(listable.map((p) => listServiceAccounts(ctx, p.slice("projects/".length), ZPageQuery.parse({ pageSize: 200, ...params }))));
    return {
      accounts: pages.flatMap((p) => p.accounts).sort((a, b) => a.email.localeCompare(b.email)),
      creatableIn: projects.filter((p) => r.can("iam.serviceAccounts.create", p)).map((p) => p.slice("projects/".length)),
      truncated: pages.some((p) => p.nextPageToken !== undefined),
    };
  });
}

interface Access {
  reach: Reach[];
  roles: HeldRole[];
}

export type PrincipalDetail =
  | ({ kind: "user"; member: string; user: UserJson; canEdit: boolean; canDelete: boolean } & Access)
  | ({
      kind: "serviceAccount";
      member: string;
      account: ServiceAccountJson;
      keys: ServiceAccountKeyJson[] | null;
      canEdit: boolean;
      canDelete: boolean;
      canCreateKey: boolean;
      canDeleteKey: boolean;
    } & Access);

/** A principal's page: `user:EMAIL` or `serviceAccount:EMAIL`. */
export async function getPrincipalDetail(member: string): Promise<Readable<PrincipalDetail>> {
  const { ctx, r } = await viewer();
  return readable(async () => {
    const m = /^(user|serviceAccount):(.+)$/.exec(member);
    const email = m ? checkEmail(m[2]!) : null;
    if (!m || !email?.ok) throw new AppError("INVALID_ARGUMENT", `${member} is not a user: or serviceAccount: member`);
    const key = `${m[1]}:${email.value}`;
    const s = r.snapshot;
    const canSee = (res: string) => canSeePolicy(r, res);
    const access: Access = { reach: s ? reachOf(s, canSee, key, new Date()) : [], roles: s ? heldRoles(s, canSee, key) : [] };
    if (m[1] === "user") {
      const user = await getUser(ctx, email.value);
      const [canEdit, canDelete] = await Promise.all([allowed(() => r.requireForDomain("gatehouse.users.update", email.value)), allowed(() => r.requireForDomain("gatehouse.users.delete", email.value))]);
      return { kind: "user", member: key, user, canEdit, canDelete, ...access };
    }
    const account = await getServiceAccount(ctx, "-", email.value);
    const project = `projects/${account.projectId}`;
    const keys = r.can("iam.serviceAccountKeys.list", project) ? (await listServiceAccountKeys(ctx, "-", email.value)).keys : null;
    return {
      kind: "serviceAccount",
      member: key,
      account,
      keys,
      canEdit: r.can("iam.serviceAccounts.update", project),
      canDelete: r.can("iam.serviceAccounts.delete", project),
      canCreateKey: r.can("iam.serviceAccountKeys.create", project),
      canDeleteKey: r.can("iam.serviceAccountKeys.delete", project),
      ...access,
    };
  });
}
