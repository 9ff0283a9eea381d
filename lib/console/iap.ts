// The IAP panel's info panel, as a view model: for the selected resources, every role binding
// that applies to them — their own (read with getIamPolicy, which authorises and gives the etag
// the page writes with) and inherited from ancestors (from the live engine's snapshot, only for
// ancestors whose policy the viewer may read) — and what the viewer may change.
//
// Shaped for size: a resource's chain can name ten thousand principals, so rows are tuples of
// indexes into string tables, and the client filters and pages them.
import { getIamPolicy } from "@/lib/admin/policies";
import { holds } from "@/lib/admin/authz";
import { policyPermission } from "@/lib/admin/permissions";
import type { AdminContext } from "@/lib/admin/context";
import { AppError } from "@/lib/errors";
import { isCustomRoleName, PREDEFINED_ROLES, PREDEFINED_ROLE_MAP, type Snapshot } from "@/lib/policy";
import { MAX_SELECTION, type IapPanelView, type PanelRow, type PanelTarget } from "./iap-view";

export * from "./iap-view";


function roleTitle(s: Snapshot, role: string): string {
  return PREDEFINED_ROLE_MAP.get(role)?.title ?? s.customRoles.get(role)?.title ?? role;
}

/** Custom roles usable on a resource: those of its organization or project (IAM's rule). */
function customRolesFor(s: Snapshot, chain: readonly string[]): Array<{ name: string; title: string }> {
  const owners = new Set(chain.filter((n) => /^(organizations|projects)\/[^/]+$/.test(n)));
  return [...s.customRoles.values()].filter((r) => isCustomRoleName(r.name) && owners.has(r.name.slice(0, r.name.indexOf("/roles/")))).map((r) => ({ name: r.name, title: r.title ?? r.name }));
}

export async function getIapPanel(ctx: AdminContext, selected: readonly string[]): Promise<IapPanelView> {
  if (ctx.actor.kind !== "principal") throw new AppError("PERMISSION_DENIED", "the IAP panel is for signed-in principals");
  const principal = ctx.actor.principal;
  const snapshot = ctx.engine?.current().snapshot;
  if (!snapshot) throw new AppError("UNAVAILABLE", "the policy engine is not running");
  const now = new Date();
  const names = [...new Set(selected)].slice(0, MAX_SELECTION);

  const tables = { members: new Map<string, number>(), roles: new Map<string, number>(), conditions: new Map<string, number>(), sources: new Map<string, number>() };
  const view: IapPanelView = { targets: [], refused: [], members: [], roles: [], conditions: [], sources: [], rows: [], grantableRoles: [], accessLevels: [] };
  const intern = (map: Map<string, number>, key: string, add: () => void) => {
    let i = map.get(key);
    if (i === undefined) {
      i = map.size;
      map.set(key, i);
      add();
    }
    return i;
  };
  // Row key (source, role, condition, member) → row, so a binding inherited by several targets is one row.
  const rowOf = new Map<string, PanelRow>();
  const addBindings = (source: string, bindings: ReadonlyArray<{ role: string; members: readonly string[]; condition?: { title: string; expression: string; description?: string } }>, bit: number) => {
    const si = intern(tables.sources, source, () => view.sources.push(source));
    for (const b of bindings) {
      const ri = intern(tables.roles, b.role, () => view.roles.push({ name: b.role, title: roleTitle(snapshot, b.role) }));
      const c = b.condition;
      const ci = c ? intern(tables.conditions, `${c.title}\u0000${c.expression}\u0000${c.description ?? ""}`, () => view.conditions.push(c.description ? { title: c.title, expression: c.expression, description: c.description } : { title: c.title, expression: c.expression })) : -1;
      for (const m of b.members) {
        const mi = intern(tables.members, m, () => view.members.push(m));
        const key = `${si},${ri},${ci},${mi}`;
        const row = rowOf.get(key);
        if (row) row[4] |= bit;
        else {
          const r: PanelRow = [mi, ri, ci, si, bit];
          rowOf.set(key, r);
          view.rows.push(r);
        }
      }
    }
  };

  const grantable = new Map<string, { name: string; title: string }>();
  for (const name of names) {
    const node = snapshot.nodes.get(name);
    let etag: string | null = null;
    let own: Awaited<ReturnType<typeof getIamPolicy>> | null = null;
    try {
      own = await getIamPolicy(ctx, name, { options: { requestedPolicyVersion: 3 } });
      etag = own.etag;
    } catch (err) {
      if (!(err instanceof AppError) || !["PERMISSION_DENIED", "INVALID_ARGUMENT", "NOT_FOUND"].includes(err.code)) throw err;
    }
    if (!node || !own) {
      view.refused.push(name);
      continue;
    }
    const bit = 1 << view.targets.length;
    const setPermission = policyPermission(name, "setIamPolicy");
    const target: PanelTarget = {
      name,
      displayName: node.displayName ?? "",
      etag,
      canEdit: Boolean(setPermission && holds(snapshot, principal, setPermission, name, now)),
      hiddenAncestors: [],
    };
    addBindings(name, own.bindings, bit);
    for (const ancestor of node.chain.slice(1)) {
      const policy = snapshot.policies.get(ancestor);
      if (!policy || policy.bindings.length === 0) continue;
      const read = policyPermission(ancestor, "getIamPolicy");
      if (read && holds(snapshot, principal, read, ancestor, now)) addBindings(ancestor, policy.bindings, bit);
      else target.hiddenAncestors.push(ancestor);
    }
    view.targets.push(target);
    if (target.canEdit) for (const r of customRolesFor(snapshot, node.chain)) grantable.set(r.name, r);
  }
  if (view.targets.some((t) => t.canEdit)) {
    view.grantableRoles = [...PREDEFINED_ROLES.map((r) => ({ name: r.name, title: r.title ?? r.name })), ...grantable.values()];
    view.accessLevels = [...snapshot.accessLevels.values()].map((l) => ({ name: l.name, title: l.title ?? l.name.slice(l.name.lastIndexOf("/") + 1) }));
  }
  return view;
}
