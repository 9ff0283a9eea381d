// The Groups section's view models: what the viewer may see of groups (through lib/admin's reads,
// which authorise) and whether they may change them (the same permission checks the writes make).
import { listEffectiveGroupMembers, listGroupMembers, listGroups, getGroup, type EffectiveMemberJson, type GroupJson, type MembershipJson } from "@/lib/admin/groups";
import { domainOrganizations } from "@/lib/admin/mutation";
import { ZPageQuery } from "@/lib/admin/paging";
import { heldRoles, type HeldRole } from "./grants";
import { allowed, canSeePolicy, readable, viewer, type Readable } from "./identity";

const PAGE = 50;

export interface GroupsPage {
  groups: GroupJson[];
  nextPageToken?: string;
  /** The viewer may create groups in some domain. */
  canCreate: boolean;
}

export async function getGroupsPage(params: { filter?: string; pageToken?: string }): Promise<Readable<GroupsPage>> {
  const { ctx, r } = await viewer();
  const query = ZPageQuery.parse({ pageSize: PAGE, ...params });
  return readable(async () => {
    const page = await listGroups(ctx, query);
    const domains = [...(await domainOrganizations(ctx.db)).values()];
    const canCreate = domains.some((org) => r.can("cloudidentity.groups.create", org)) || (await allowed(() => r.requireInstance("cloudidentity.groups.create")));
    return { ...page, canCreate };
  });
}

export interface GroupDetail {
  group: GroupJson;
  members: MembershipJson[];
  membersNext?: string;
  effective: EffectiveMemberJson[];
  effectiveNext?: string;
  roles: HeldRole[];
  canEdit: boolean;
  canDelete: boolean;
  /** Known users, service accounts and groups, for the add-member suggestions. */
  suggestions: string[];
}

export async function getGroupDetail(email: string, params: { filter?: string }): Promise<Readable<GroupDetail>> {
  const { ctx, r } = await viewer();
  const query = ZPageQuery.parse({ pageSize: 200, ...(params.filter ? { filter: params.filter } : {}) });
  return readable(async () => {
    const group = await getGroup(ctx, email);
    const [members, effective, canEdit, canDelete] = await Promise.all([
      listGroupMembers(ctx, group.email, query),
      listEffectiveGroupMembers(ctx, group.email, query),
      allowed(() => r.requireForDomain("cloudidentity.groups.update", group.email)),
      allowed(() => r.requireForDomain("cloudidentity.groups.delete", group.email)),
    ]);
    const s = r.snapshot;
    const suggestions = canEdit && s ? [...s.principals.keys(), ...s.groups.keys()].filter((k) => k !== `group:${group.email}`).sort().slice(0, 500) : [];
    return {
      group,
      members: members.memberships,
      ...(members.nextPageToken ? { membersNext: members.nextPageToken } : {}),
      effective: effective.members,
      ...(effective.nextPageToken ? { effectiveNext: effective.nextPageToken } : {}),
      roles: s ? heldRoles(s, (res) => canSeePolicy(r, res), `group:${group.email}`) : [],
      canEdit,
      canDelete,
      suggestions,
    };
  });
}
