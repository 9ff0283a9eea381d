// The 10k world of the benchmarks (bench:decide, bench:admin): 10,000 users, 1,000 nested
// groups, 500 web services in 50 projects under 10 folders, 20,000 bindings (10 % conditional),
// as a world file, plus the checks and names the load generators need. Deterministic (seeded).

export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const APP_HOST = "app.example.com";
export const CONDITIONS = [
  "!request.path.startsWith('/admin')",
  "request.path.startsWith('/api/')",
  "request.host.endsWith('.example.com') && request.method == 'GET'",
  "request.time < timestamp('2100-01-01T00:00:00Z')",
  "'accessPolicies/1/accessLevels/corp' in request.auth.access_levels",
];
export const CUSTOM_ROLES = 40;

/** The 10k world as a world file, plus what the load generators need. */
export function generateWorld(issuer: { issuer: string; audience: string }, seed = 42) {
  const r = rng(seed);
  const pick = <T>(a: readonly T[]): T => a[Math.floor(r() * a.length)] as T;
  const USERS = 10_000;
  const GROUPS = 1_000;
  const BINDINGS = 20_000;
  const folders = Array.from({ length: 10 }, (_, f) => ({ id: String(100 + f), parent: f < 5 ? "organizations/1" : `folders/${100 + f - 5}` }));
  const projects = Array.from({ length: 50 }, (_, p) => ({ id: `bench-p${p}`, number: String(500_000_000 + p), parent: `folders/${100 + (p % 10)}` }));
  const services: string[] = [];
  const resources = projects.flatMap((p, pi) =>
    Array.from({ length: 10 }, (_, s) => {
      const name = `projects/${p.id}/iap_web/compute/services/s${s}`;
      services.push(name);
      return { name, iap: true, hosts: [pi === 0 && s === 0 ? APP_HOST : `s${s}.${p.id}.example.com`] };
    }),
  );
  const users = Array.from({ length: USERS }, (_, i) => `u${i}@example.com`);
  const leaf = Math.floor(GROUPS * 0.7);
  const mid = Math.floor(GROUPS * 0.2);
  const groupMembers: Set<string>[] = Array.from({ length: GROUPS }, () => new Set());
  for (const u of users) for (let k = 0; k < 3; k++) groupMembers[Math.floor(r() * leaf)]!.add(`user:${u}`);
  for (let g = leaf; g < leaf + mid; g++) for (let k = 0; k < 4; k++) groupMembers[g]!.add(`group:g${Math.floor(r() * leaf)}@example.com`);
  for (let g = leaf + mid; g < GROUPS; g++) for (let k = 0; k < 3; k++) groupMembers[g]!.add(`group:g${leaf + Math.floor(r() * mid)}@example.com`);
  const groups = groupMembers.map((m, g) => ({ email: `g${g}@example.com`, members: [...m] }));

  // Bindings: node → role index → binding; distinct roles per node so that none merge.
  const nodes: string[] = [];
  const weights: number[] = [];
  const addNode = (name: string, share: number) => {
    nodes.push(name);
    weights.push(share);
  };
  for (const s of services) addNode(s, 0.9 / services.length);
  for (const p of projects) addNode(`projects/${p.id}`, 0.09 / projects.length);
  for (const f of folders) addNode(`folders/${f.id}`, 0.009 / folders.length);
  addNode("organizations/1", 0.001);
  const perNode = new Map<string, { role: string; members: string[]; condition?: { title: string; expression: string } }[]>();
  const realPairs: Array<[string, string]> = []; // (member, node)
  const roles = Array.from({ length: CUSTOM_ROLES }, (_, k) => `organizations/1/roles/webAccess${String(k).padStart(2, "0")}`);
  let made = 0;
  let cursor = 0;
  while (made < BINDINGS) {
    // Deterministic sweep weighted by node share: services get ~36 bindings each.
    const node = nodes[cursor % nodes.length]!;
    const share = weights[cursor % nodes.length]! * BINDINGS;
    cursor++;
    const list = perNode.get(node) ?? [];
    if (list.length >= Math.ceil(share) || list.length >= CUSTOM_ROLES) continue;
    const members = Array.from({ length: 1 + Math.floor(r() * 2) }, () => (r() < 0.6 ? `user:${pick(users)}` : `group:g${Math.floor(r() * GROUPS)}@example.com`));
    const conditional = r() < 0.1;
    list.push({
      role: roles[list.length]!,
      members,
      ...(conditional ? { condition: { title: `c${made % CONDITIONS.length}`, expression: pick(CONDITIONS) } } : {}),
    });
    perNode.set(node, list);
    realPairs.push([members[0]!, node]);
    made++;
  }
  const world = {
    organizations: [{ id: "1", displayName: "Bench", domain: "example.com" }],
    folders,
    projects,
    resources,
    users: users.map((email) => ({ email })),
    groups,
    customRoles: roles.map((name) => ({ name, permissions: ["iap.webServiceVersions.accessViaIAP"] })),
    accessLevels: [{ name: "accessPolicies/1/accessLevels/corp", basic: { conditions: [{ ipSubnetworks: ["10.0.0.0/8"] }] } }],
    trustedIssuers: [{ issuer: issuer.issuer, audiences: [issuer.audience], domains: ["example.com"] }],
    policies: [...perNode].map(([resource, bindings]) => ({ resource, bindings })),
  };
  // A member stands for a user: a group member resolves to one of its (transitive) users.
  const userOf = (member: string, depth = 0): string | null => {
    if (member.startsWith("user:")) return member.slice(5);
    const g = groupMembers[Number(member.slice(7, member.indexOf("@")))];
    if (!g || g.size === 0 || depth > 5) return null;
    return userOf(pick([...g]), depth + 1);
  };
  const below = (node: string): string => {
    if (node.includes("/services/")) return node;
    if (node.startsWith("projects/")) return `${node}/iap_web/compute/services/s${Math.floor(r() * 10)}`;
    return pick(services);
  };
  const PATHS = ["/", "/api/v1/items", "/admin/users", "/static/app.js"];
  const checks = Array.from({ length: 256 }, (_, i) => {
    let principal: string;
    let resource: string;
    const real = i % 2 === 0 ? realPairs[Math.floor(r() * realPairs.length)]! : null;
    const u = real ? userOf(real[0]) : null;
    if (real && u) [principal, resource] = [`user:${u}`, below(real[1])];
    else [principal, resource] = [`user:${pick(users)}`, pick(services)];
    return { principal, resource, request: { method: "GET", host: APP_HOST, path: PATHS[i % 4]!, ip: i % 3 === 0 ? "10.1.2.3" : "203.0.113.9" } };
  });
  return { world, users, services, checks, counts: { users: USERS, groups: GROUPS, resources: services.length, projects: projects.length, bindings: made } };
}

export type BenchWorld = ReturnType<typeof generateWorld>;
