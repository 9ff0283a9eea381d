// One canonical form of a world, used by export (what the database holds) and by apply (what
// the file asks for): sections sorted by key, defaults made explicit, binding members de-duplicated
// and sorted, bindings ordered by role then condition. Two worlds are equal iff their canonical
// forms are equal, which is what makes apply idempotent and export → apply a no-op.
import type { World } from "./schema";
import { WEB_KINDS, parseResourceName } from "./names";

type Section<K extends keyof World> = NonNullable<World[K]>;
export type Entry<K extends keyof World> = Section<K>[number];

const byKey = <T>(key: (t: T) => string) => (a: T, b: T) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0);
const uniqSorted = (xs: readonly string[] | undefined) => [...new Set(xs ?? [])].sort();

/** The identity of an entry within its section (what apply matches on). */
export const KEY: { [K in keyof World]-?: (e: Entry<K>) => string } = {
  organizations: (e) => `organizations/${e.id}`,
  folders: (e) => `folders/${e.id}`,
  projects: (e) => `projects/${e.id}`,
  resources: (e) => e.name,
  users: (e) => e.email,
  serviceAccounts: (e) => e.email,
  groups: (e) => e.email,
  customRoles: (e) => e.name,
  accessLevels: (e) => e.name,
  trustedIssuers: (e) => e.issuer,
  policies: (e) => e.resource,
  denyPolicies: (e) => `${e.attachedTo}#${e.name ?? "default"}`,
};

function strip<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== "")) as T;
}

export function canonicalEntry<K extends keyof World>(section: K, e: Entry<K>): Entry<K> {
  const c = ((): unknown => {
    switch (section) {
      case "resources": {
        const r = e as Entry<"resources">;
        // An unset IAP switch inherits from the nearest web ancestor (default off), as in the core.
        const kind = parseResourceName(r.name)?.kind;
        const web = kind !== undefined && WEB_KINDS.has(kind);
        return strip({
          name: r.name,
          displayName: r.displayName,
          iap: web ? r.iap : undefined,
          hosts: r.hosts?.length ? uniqSorted(r.hosts) : undefined,
          pathPrefix: r.pathPrefix,
        });
      }
      case "groups": {
        const g = e as Entry<"groups">;
        return strip({ ...g, members: g.members?.length ? uniqSorted(g.members) : undefined });
      }
      case "users":
      case "serviceAccounts": {
        // `disabled: false` is the default and is left out.
        const s = e as Entry<"users"> | Entry<"serviceAccounts">;
        return strip({ ...s, disabled: s.disabled ? true : undefined });
      }
      case "customRoles": {
        const r = e as Entry<"customRoles">;
        return strip({ ...r, stage: r.stage && r.stage !== "GA" ? r.stage : undefined, permissions: uniqSorted(r.permissions) });
      }
      case "trustedIssuers": {
        const t = e as Entry<"trustedIssuers">;
        return strip({ ...t, audiences: uniqSorted(t.audiences), domains: uniqSorted(t.domains), allowUnverifiedEmails: t.allowUnverifiedEmails ? true : undefined });
      }
      case "policies": {
        const p = e as Entry<"policies">;
        return { resource: p.resource, bindings: canonicalBindings(p.bindings) };
      }
      case "denyPolicies": {
        const d = e as Entry<"denyPolicies">;
        return strip({
          attachedTo: d.attachedTo,
          name: d.name && d.name !== "default" ? d.name : undefined,
          displayName: d.displayName,
          rules: d.rules.map((r) =>
            strip({
              description: r.description,
              deniedPrincipals: uniqSorted(r.deniedPrincipals),
              exceptionPrincipals: r.exceptionPrincipals?.length ? uniqSorted(r.exceptionPrincipals) : undefined,
              deniedPermissions: uniqSorted(r.deniedPermissions),
              exceptionPermissions: r.exceptionPermissions?.length ? uniqSorted(r.exceptionPermissions) : undefined,
              denialCondition: r.denialCondition ? strip({ ...r.denialCondition }) : undefined,
            }),
          ),
        });
      }
      default:
        return strip({ ...(e as object) });
    }
  })();
  return c as Entry<K>;
}

/** Bindings with the same role and condition are merged; empty bindings dropped; stable order. */
export function canonicalBindings(bindings: Entry<"policies">["bindings"]): Entry<"policies">["bindings"] {
  const merged = new Map<string, Entry<"policies">["bindings"][number]>();
  for (const b of bindings) {
    const cond = b.condition ? strip({ title: b.condition.title, description: b.condition.description, expression: b.condition.expression }) : undefined;
    const key = JSON.stringify([b.role, cond?.title ?? "", cond?.description ?? "", cond?.expression ?? ""]);
    const prev = merged.get(key);
    const members = uniqSorted([...(prev?.members ?? []), ...b.members]);
    merged.set(key, strip({ role: b.role, members, condition: cond }));
  }
  return [...merged.entries()]
    .filter(([, b]) => b.members.length > 0)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, b]) => b);
}

export function canonicalWorld(world: World): World {
  const out: World = {};
  for (const section of Object.keys(KEY) as (keyof World)[]) {
    const entries = world[section] as Entry<typeof section>[] | undefined;
    if (!entries) continue;
    const key = KEY[section] as (e: Entry<typeof section>) => string;
    const list = entries.map((e) => canonicalEntry(section, e)).sort(byKey(key));
    // Policies with no bindings are the same as no policy.
    (out as Record<string, unknown>)[section] = section === "policies" ? (list as Entry<"policies">[]).filter((p) => p.bindings.length > 0) : list;
  }
  return out;
}
