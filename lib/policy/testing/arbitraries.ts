/**
 * TEST-ONLY fast-check generators of random policy worlds and checks (used by the differential
 * and consistency tests). Not part of the core; imports fast-check (a dev dependency).
 */
import fc from "fast-check";
import type { AccessLevel, AllowPolicy, CheckInput, DenyPolicy, Group, HierarchyNode, PolicyData, Principal, Role } from "../types";

export const USERS = ["u0@example.com", "u1@example.com", "u2@example.com", "u3@other.test", "u4@sub.example.com"];
export const SAS = ["sa0@p.iam.gserviceaccount.com", "sa1@example.com"];
export const GROUPS = ["g0@example.com", "g1@example.com", "g2@example.com", "g3@example.com"];
export const LEVELS = ["accessPolicies/1/accessLevels/corp", "accessPolicies/1/accessLevels/eu", "accessPolicies/1/accessLevels/both", "accessPolicies/1/accessLevels/notcorp", "accessPolicies/1/accessLevels/cyc"];

export const PERMISSIONS = [
  "iap.webServiceVersions.accessViaIAP",
  "iap.tunnelInstances.accessViaIAP",
  "run.routes.invoke",
  "cloudfunctions.functions.invoke",
  "resourcemanager.projects.getIamPolicy",
  "iap.webServices.getIamPolicy",
];
const ROLES = ["roles/iap.httpsResourceAccessor", "roles/iap.httpsResourceAccessor", "roles/iap.httpsResourceAccessor", "roles/iap.tunnelResourceAccessor", "roles/iap.tunnelResourceAccessor", "roles/run.invoker", "roles/viewer", "roles/owner", "projects/p0/roles/mixed", "roles/unknown.role"];
const CUSTOM_ROLES: Role[] = [{ name: "projects/p0/roles/mixed", permissions: ["iap.webServiceVersions.accessViaIAP", "run.routes.invoke", "cloudfunctions.functions.invoke"] }];

const CONDITIONS = [
  "request.path.startsWith('/admin')",
  "!request.path.startsWith('/admin')",
  "request.host == 'a.example.test'",
  "request.time.getHours('Europe/Berlin') >= 12",
  "request.time.getDayOfWeek('America/Los_Angeles') == 1",
  // Time read to the millisecond (exact memo key) and to the second (coarse memo key): TIMES has
  // instants within one second.
  "request.time.getMilliseconds() < 500",
  "request.time < timestamp('2024-06-03T13:00:00.500Z')",
  "request.time.getSeconds() == 0 && request.time.getHours() == 13",
  "'accessPolicies/1/accessLevels/corp' in request.auth.access_levels",
  "'accessPolicies/1/accessLevels/both' in request.auth.access_levels || request.method == 'POST'",
  "size(request.auth.access_levels) > 1",
  "destination.port == 22",
  "request.method == 'POST'",
  "resource.name.endsWith('/s0')",
  "resource.type == 'iap.googleapis.com/WebService'",
  "request.path.startsWith(", // does not compile: never grants, always denies
  "request.path.matches('^/(a|b)/')",
  // Presence tests and whole-map reads (attribute resolution paths other than a plain select).
  "has(request.host) && request.host.endsWith('.example.test')",
  "!has(request.path) || request.path.startsWith('/a')",
  "has(destination.port) && destination.port == 22",
  "request.auth.access_levels.exists(l, l.endsWith('/corp'))",
  "has(request.auth) && size(request.auth) == 1",
];

export const MEMBERS = [
  ...USERS.map((u) => `user:${u}`),
  "user:U0@Example.COM",
  ...SAS.map((s) => `serviceAccount:${s}`),
  ...GROUPS.map((g) => `group:${g}`),
  "group:G1@EXAMPLE.com",
  "domain:example.com",
  "domain:other.test",
  "allUsers",
  "allAuthenticatedUsers",
  "deleted:user:u1@example.com?uid=9",
];
const DENY_PRINCIPALS = [...MEMBERS, "principalSet://goog/group/g2@example.com", "principal://goog/subject/u2@example.com", "principalSet://goog/public:all"];
const DENY_PERMISSIONS = ["iap.webServiceVersions.accessViaIAP", "iap.googleapis.com/tunnelInstances.accessViaIAP", "iap.googleapis.com/*", "run.routes.invoke", "resourcemanager.projects.*"];

export interface RandomWorld {
  data: PolicyData;
  /** Every node name (check targets). */
  resources: string[];
}

function hierarchy(folders: number, projects: Array<{ parent: number; services: number; iap: Array<boolean | null> }>): { nodes: HierarchyNode[]; attach: string[] } {
  const nodes: HierarchyNode[] = [{ name: "organizations/1", parent: null }];
  const containers = ["organizations/1"];
  for (let f = 0; f < folders; f++) {
    const parent = f === 0 ? "organizations/1" : `folders/${Math.floor(f / 2)}`;
    nodes.push({ name: `folders/${f}`, parent });
    containers.push(`folders/${f}`);
  }
  projects.forEach((p, i) => {
    const parent = containers[p.parent % containers.length] as string;
    const proj = `projects/p${i}`;
    nodes.push({ name: proj, parent });
    nodes.push({ name: `${proj}/iap_web`, parent: proj });
    nodes.push({ name: `${proj}/iap_web/compute`, parent: `${proj}/iap_web` });
    for (let s = 0; s < p.services; s++) {
      const n: HierarchyNode = { name: `${proj}/iap_web/compute/services/s${s}`, parent: `${proj}/iap_web/compute` };
      const iap = p.iap[s % Math.max(1, p.iap.length)];
      if (iap !== null && iap !== undefined) n.iapEnabled = iap;
      nodes.push(n);
    }
    nodes.push({ name: `${proj}/iap_tunnel`, parent: proj });
    nodes.push({ name: `${proj}/iap_tunnel/zones/z`, parent: `${proj}/iap_tunnel` });
    nodes.push({ name: `${proj}/iap_tunnel/zones/z/instances/vm`, parent: `${proj}/iap_tunnel/zones/z` });
    nodes.push({ name: `${proj}/locations/r/services/run`, parent: proj });
    nodes.push({ name: `${proj}/locations/r/functions/fn`, parent: proj });
    containers.push(proj);
  });
  return { nodes, attach: containers };
}

const conditionArb = fc.option(fc.constantFrom(...CONDITIONS), { nil: undefined, freq: 2 });

export const worldArb: fc.Arbitrary<RandomWorld> = fc
  .record({
    folders: fc.integer({ min: 0, max: 3 }),
    projects: fc.array(fc.record({ parent: fc.nat(), services: fc.integer({ min: 1, max: 3 }), iap: fc.array(fc.constantFrom(true, true, false, null), { minLength: 1, maxLength: 3 }) }), { minLength: 1, maxLength: 3 }),
    groups: fc.array(fc.array(fc.constantFrom(...MEMBERS.filter((m) => !m.startsWith("domain:") && !m.startsWith("all"))), { maxLength: 4 }), { minLength: GROUPS.length, maxLength: GROUPS.length }),
    bindings: fc.array(fc.record({ node: fc.nat(), onContainer: fc.boolean(), role: fc.constantFrom(...ROLES), members: fc.array(fc.constantFrom(...MEMBERS), { minLength: 1, maxLength: 3 }), condition: conditionArb }), { minLength: 2, maxLength: 20 }),
    denies: fc.array(
      fc.record({
        node: fc.nat(),
        denied: fc.array(fc.constantFrom(...DENY_PRINCIPALS), { minLength: 1, maxLength: 2 }),
        except: fc.array(fc.constantFrom(...DENY_PRINCIPALS), { maxLength: 2 }),
        perms: fc.array(fc.constantFrom(...DENY_PERMISSIONS), { minLength: 1, maxLength: 2 }),
        exceptPerms: fc.array(fc.constantFrom(...DENY_PERMISSIONS), { maxLength: 1 }),
        condition: conditionArb,
      }),
      { maxLength: 3 },
    ),
    // Per principal: 0 = not provisioned, 1 = known, 2 = known and disabled.
    known: fc.array(fc.constantFrom(0, 0, 1, 1, 1, 2), { minLength: USERS.length + SAS.length, maxLength: USERS.length + SAS.length }),
  })
  .map(({ folders, projects, groups, bindings, denies, known }) => {
    const { nodes, attach } = hierarchy(folders, projects);
    const policies = new Map<string, AllowPolicy>();
    bindings.forEach((b, i) => {
      const node = b.onContainer ? (attach[b.node % attach.length] as string) : (nodes[b.node % nodes.length] as HierarchyNode).name;
      const p = policies.get(node) ?? { resource: node, version: 3, bindings: [] };
      p.bindings.push({ role: b.role, members: b.members, ...(b.condition ? { condition: { title: `c${i}`, expression: b.condition } } : {}) });
      policies.set(node, p);
    });
    const denyPolicies: DenyPolicy[] = denies.map((d, i) => ({
      attachedTo: attach[d.node % attach.length] as string,
      name: `deny${i}`,
      rules: [
        {
          deniedPrincipals: d.denied,
          exceptionPrincipals: d.except,
          deniedPermissions: d.perms,
          exceptionPermissions: d.exceptPerms,
          ...(d.condition ? { denialCondition: { title: `d${i}`, expression: d.condition } } : {}),
        },
      ],
    }));
    const groupList: Group[] = GROUPS.map((g, i) => ({ email: g, members: groups[i] ?? [] }));
    const accessLevels: AccessLevel[] = [
      { name: LEVELS[0] as string, basic: { conditions: [{ ipSubnetworks: ["10.0.0.0/8", "2001:db8::/32"] }] } },
      { name: LEVELS[1] as string, basic: { conditions: [{ regions: ["DE", "FR"] }] } },
      { name: LEVELS[2] as string, basic: { conditions: [{ requiredAccessLevels: [LEVELS[0] as string, LEVELS[1] as string] }] } },
      { name: LEVELS[3] as string, basic: { conditions: [{ requiredAccessLevels: [LEVELS[0] as string], negate: true }, { members: ["user:u2@example.com"] }], combiningFunction: "OR" } },
      { name: LEVELS[4] as string, basic: { conditions: [{ requiredAccessLevels: [LEVELS[4] as string] }] } },
    ];
    // Only some principals are "known" (as if provisioned); the others appear only in bindings and
    // groups. Some known ones are disabled, every other one of those written in upper case.
    const principals: Principal[] = [...USERS.map((u) => `user:${u}`), ...SAS.map((s) => `serviceAccount:${s}`)].flatMap((member, i) => {
      const k = known[i] ?? 0;
      if (k === 0) return [];
      if (k === 1) return [{ member }];
      return [{ member: i % 2 === 0 ? member.replace(/:.*/, (e) => e.toUpperCase()) : member, disabled: true }];
    });
    return {
      data: { nodes, principals, groups: groupList, roles: CUSTOM_ROLES, policies: [...policies.values()], denyPolicies, accessLevels },
      resources: nodes.map((n) => n.name),
    };
  });

export const CHECK_PRINCIPALS: Array<string | null> = [...USERS.map((u) => `user:${u}`), "user:U2@EXAMPLE.COM", "user:stranger@example.com", ...SAS.map((s) => `serviceAccount:${s}`), null, "group:g0@example.com", "user:\u0430@example.com"];
const TIMES = ["2024-06-03T08:00:00Z", "2024-06-03T13:00:00Z", "2024-06-03T13:00:00.750Z", "2024-06-03T13:00:01.250Z", "2024-06-03T23:30:00Z", "2024-06-10T17:00:00Z"].map((t) => new Date(t));
const PATHS = [undefined, "/", "/admin", "/admin/x", "/%61dmin", "/x/../admin", "//admin", "/a/x", "/b/../a/x", "/public/x"];
const HOSTS = [undefined, "a.example.test", "A.EXAMPLE.TEST.", "b.example.test"];
const IPS = [undefined, "10.1.2.3", "8.8.8.8", "2001:db8::1", "::ffff:10.0.0.9"];

/** A random check against a world: a seeded index into each dimension. */
export function checkArb(resources: readonly string[]): fc.Arbitrary<CheckInput> {
  return fc
    .record({
      p: fc.nat(CHECK_PRINCIPALS.length - 1),
      r: fc.nat(resources.length),
      perm: fc.nat(PERMISSIONS.length * 3),
      t: fc.nat(TIMES.length - 1),
      path: fc.nat(PATHS.length - 1),
      host: fc.nat(HOSTS.length - 1),
      method: fc.constantFrom(undefined, "GET", "post"),
      ip: fc.nat(IPS.length - 1),
      region: fc.constantFrom(undefined, "DE", "US"),
      port: fc.constantFrom(undefined, 22, 443),
    })
    .map((x) => {
      const request: CheckInput["request"] = { time: TIMES[x.t] as Date };
      const host = HOSTS[x.host];
      const path = PATHS[x.path];
      const ip = IPS[x.ip];
      if (host !== undefined) request.host = host;
      if (path !== undefined) request.path = path;
      if (x.method !== undefined) request.method = x.method;
      if (ip !== undefined) request.ip = ip;
      if (x.region !== undefined) request.regionCode = x.region;
      const check: CheckInput = {
        principal: CHECK_PRINCIPALS[x.p] ?? null,
        resource: resources[x.r] ?? "projects/unknown/iap_web",
        request,
      };
      const perm = PERMISSIONS[x.perm];
      if (perm !== undefined) check.permission = perm;
      if (x.port !== undefined) check.destination = { port: x.port, ip: "10.0.0.5" };
      return check;
    });
}

/** Deterministic pseudo-random generator for picking checks without fast-check overhead. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
