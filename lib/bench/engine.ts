/**
 * Benchmark of the policy engine (not a test): `npm run bench:engine`.
 *
 * World: 10,000 users, 1,000 groups (~3 per user, nesting depth ≤ 3), 500 resources in 50 projects
 * under folders, 20,000 bindings (10 % with a condition). Checks: half drawn from real bindings,
 * half random. Prints compile time, heap, checks/s on one core and p50/p99/p99.9 per check for an
 * unconditional and a conditional mix; the same at 100,000 users / 200,000 bindings; and a plain
 * Map lookup of (principal, resource) — `map.get(principal + "\0" + resource)` — as the ceiling.
 * The last line is one JSON object.
 */
import v8 from "node:v8";
import vm from "node:vm";
import { compile, evaluate, type CheckInput, type PolicyData, type AllowPolicy, type HierarchyNode, type Snapshot } from "../policy";

v8.setFlagsFromString("--expose-gc");
const gc = vm.runInNewContext("gc") as () => void;

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const CONDITIONS = [
  "!request.path.startsWith('/admin')",
  "request.path.startsWith('/api/')",
  "request.host == 'app.example.test'",
  "request.host.endsWith('.example.test') && request.method == 'GET'",
  "request.time.getHours('Europe/Berlin') >= 8 && request.time.getHours('Europe/Berlin') < 20",
  "request.time < timestamp('2030-01-01T00:00:00Z')",
  "'accessPolicies/1/accessLevels/corp' in request.auth.access_levels",
  "request.time.getDayOfWeek('America/Los_Angeles') >= 1 && request.time.getDayOfWeek('America/Los_Angeles') <= 5",
];

interface Generated {
  data: PolicyData;
  /** Real (principal, resource) pairs: from unconditional and from conditional bindings. */
  realUnconditional: Array<[string, string]>;
  realConditional: Array<[string, string]>;
  users: string[];
  services: string[];
}

function generate(users: number, groups: number, bindings: number, seed: number): Generated {
  const r = rng(seed);
  const pick = <T>(a: readonly T[]): T => a[Math.floor(r() * a.length)] as T;
  const nodes: HierarchyNode[] = [{ name: "organizations/1", parent: null }];
  const folders: string[] = [];
  for (let f = 0; f < 10; f++) {
    const name = `folders/${f}`;
    nodes.push({ name, parent: f < 5 ? "organizations/1" : `folders/${f - 5}` });
    folders.push(name);
  }
  const projects: string[] = [];
  const services: string[] = [];
  const subtree = new Map<string, string[]>(); // node → services below (or itself)
  const addBelow = (n: string, svc: string) => {
    const l = subtree.get(n);
    if (l) l.push(svc);
    else subtree.set(n, [svc]);
  };
  for (let p = 0; p < 50; p++) {
    const folder = folders[p % 10] as string;
    const proj = `projects/p${p}`;
    projects.push(proj);
    nodes.push({ name: proj, parent: folder });
    nodes.push({ name: `${proj}/iap_web`, parent: proj });
    nodes.push({ name: `${proj}/iap_web/compute`, parent: `${proj}/iap_web` });
    for (let s = 0; s < 10; s++) {
      const svc = `${proj}/iap_web/compute/services/s${s}`;
      nodes.push({ name: svc, parent: `${proj}/iap_web/compute`, iapEnabled: true });
      services.push(svc);
      for (const n of [svc, proj, folder, ...(folder === "folders/0" || Number(folder.split("/")[1]) < 5 ? [] : [`folders/${Number(folder.split("/")[1]) - 5}`]), "organizations/1"]) addBelow(n, svc);
    }
  }
  const userEmails = Array.from({ length: users }, (_, i) => `user:u${i}@example.com`);
  // Groups: 70 % leaf groups (users), 20 % mid (contain leaf groups), 10 % top (contain mid groups).
  const leaf = Math.floor(groups * 0.7);
  const mid = Math.floor(groups * 0.2);
  const groupMembers: string[][] = Array.from({ length: groups }, () => []);
  const usersOf: string[][] = Array.from({ length: groups }, () => []);
  for (const u of userEmails) {
    for (let k = 0; k < 3; k++) {
      const g = Math.floor(r() * leaf);
      (groupMembers[g] as string[]).push(u);
    }
  }
  for (let g = leaf; g < leaf + mid; g++) for (let k = 0; k < 4; k++) (groupMembers[g] as string[]).push(`group:g${Math.floor(r() * leaf)}@example.com`);
  for (let g = leaf + mid; g < groups; g++) for (let k = 0; k < 3; k++) (groupMembers[g] as string[]).push(`group:g${leaf + Math.floor(r() * mid)}@example.com`);
  // Transitive users per group (for drawing real checks).
  const resolve = (g: number, seen: Set<number>): string[] => {
    if (seen.has(g)) return [];
    seen.add(g);
    const out: string[] = [];
    for (const m of groupMembers[g] ?? []) {
      if (m.startsWith("group:")) out.push(...resolve(Number(m.slice(7, m.indexOf("@"))), seen));
      else out.push(m);
    }
    return out;
  };
  for (let g = 0; g < groups; g++) usersOf[g] = resolve(g, new Set());

  const policies = new Map<string, AllowPolicy>();
  const realUnconditional: Array<[string, string]> = [];
  const realConditional: Array<[string, string]> = [];
  for (let b = 0; b < bindings; b++) {
    const x = r();
    const node = x < 0.6 ? pick(services) : x < 0.9 ? pick(projects) : x < 0.98 ? pick(folders) : "organizations/1";
    const members: string[] = [];
    const n = 1 + Math.floor(r() * 2);
    // Broad bindings (folders, organization) name users and leaf groups; top-level groups are bound on projects and services.
    const broad = x >= 0.9;
    for (let k = 0; k < n; k++) members.push(r() < 0.6 ? pick(userEmails) : `group:g${Math.floor(r() * (broad ? leaf : groups))}@example.com`);
    const conditional = r() < 0.1;
    const binding = { role: r() < 0.9 ? "roles/iap.httpsResourceAccessor" : pick(["roles/viewer", "roles/iap.tunnelResourceAccessor", "roles/iap.admin"]), members, ...(conditional ? { condition: { title: `c${b % CONDITIONS.length}`, expression: pick(CONDITIONS) } } : {}) };
    const p = policies.get(node) ?? { resource: node, version: 3, bindings: [] };
    p.bindings.push(binding);
    policies.set(node, p);
    if (binding.role === "roles/iap.httpsResourceAccessor") {
      const m = pick(members);
      const principal = m.startsWith("group:") ? pick(usersOf[Number(m.slice(7, m.indexOf("@")))] ?? []) : m;
      if (principal) (conditional ? realConditional : realUnconditional).push([principal, pick(subtree.get(node) ?? [])]);
    }
  }
  return {
    data: {
      nodes,
      principals: userEmails.map((member) => ({ member })),
      groups: groupMembers.map((members, g) => ({ email: `g${g}@example.com`, members })),
      policies: [...policies.values()],
      accessLevels: [{ name: "accessPolicies/1/accessLevels/corp", basic: { conditions: [{ ipSubnetworks: ["10.0.0.0/8"] }] } }],
    },
    realUnconditional,
    realConditional,
    users: userEmails,
    services,
  };
}

/**
 * Check i happens at TIME + i ms: every check has its own millisecond (harsher than real traffic,
 * where many requests share one), so conditions that read the time exactly are never answered
 * from their outcome memo, and those that read it to the second only within a second's checks.
 */
const TIME = new Date("2024-06-03T10:00:00Z");
const PATHS = ["/", "/api/v1/items", "/admin/users", "/static/app.js"];
const HOSTS = ["app.example.test", "www.example.test"];

function checks(g: Generated, real: Array<[string, string]>, n: number, seed: number): CheckInput[] {
  const r = rng(seed);
  const out: CheckInput[] = [];
  for (let i = 0; i < n; i++) {
    let principal: string;
    let resource: string;
    if (i % 2 === 0 && real.length > 0) [principal, resource] = real[Math.floor(r() * real.length)] as [string, string];
    else {
      principal = g.users[Math.floor(r() * g.users.length)] as string;
      resource = g.services[Math.floor(r() * g.services.length)] as string;
    }
    out.push({ principal, resource, request: { time: new Date(TIME.getTime() + i), host: HOSTS[i % 2] as string, path: PATHS[i % 4] as string, ip: i % 3 === 0 ? "10.1.2.3" : "203.0.113.9" } });
  }
  return out;
}

interface Stats {
  checksPerS: number;
  p50: number;
  p99: number;
  p999: number;
  allowed: number;
}

/**
 * Throughput: a tight loop without per-check timing. Latency: per check with hrtime (includes its
 * ~0.1 µs overhead). Every measurement is repeated PASSES times and the best pass is kept: these
 * machines are shared, and the best pass is the closest to the engine's own cost. The passes of
 * the two worlds alternate, so that a noisy minute does not fall on one world only (their ratio
 * is a target).
 */
const PASSES = Number(process.env.BENCH_PASSES ?? 5);

function pass(run: (c: CheckInput) => boolean, list: readonly CheckInput[]): Stats {
  let allowed = 0;
  const t0 = process.hrtime.bigint();
  for (const c of list) if (run(c)) allowed++;
  const t1 = process.hrtime.bigint();
  const checksPerS = list.length / (Number(t1 - t0) / 1e9);
  const lat = new Float64Array(list.length);
  for (let i = 0; i < list.length; i++) {
    const a = process.hrtime.bigint();
    run(list[i] as CheckInput);
    lat[i] = Number(process.hrtime.bigint() - a) / 1000;
  }
  lat.sort();
  const q = (p: number) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] as number;
  return { checksPerS, p50: q(0.5), p99: q(0.99), p999: q(0.999), allowed };
}

function best(a: Stats | null, b: Stats): Stats {
  if (a === null) return b;
  return { checksPerS: Math.max(a.checksPerS, b.checksPerS), p50: Math.min(a.p50, b.p50), p99: Math.min(a.p99, b.p99), p999: Math.min(a.p999, b.p999), allowed: b.allowed };
}

/**
 * JS heap plus typed-array memory (tier tables and the identity arena live outside the heap).
 * Collected until two readings agree: array buffers are released by a sweeper after the
 * collection that found them dead, so one `gc()` can still count them.
 */
function heapMb(): number {
  let last = -1;
  for (let i = 0; i < 10; i++) {
    gc();
    const m = process.memoryUsage();
    const now = m.heapUsed + m.arrayBuffers;
    if (Math.abs(now - last) < 65536) break;
    last = now;
  }
  return last / 1048576;
}

interface World {
  label: string;
  header: string;
  snap: Snapshot;
  compileMs: number;
  heapMb: number;
  n: number;
  /** The mixes, measured in this order: the engine on each check list, then the Map ceiling. */
  mixes: Array<{ name: string; run: (c: CheckInput) => boolean; list: readonly CheckInput[]; stats: Stats | null }>;
}

function prepare(label: string, users: number, groups: number, bindings: number, n: number): World {
  const g = generate(users, groups, bindings, 7);
  const before = heapMb();
  let snap: Snapshot = compile(g.data, 1);
  const heap = heapMb() - before;
  // Compile time: best of PASSES (see above).
  let compileMs = Infinity;
  for (let p = 0; p < PASSES; p++) {
    const t0 = performance.now();
    snap = compile(g.data, 1);
    compileMs = Math.min(compileMs, performance.now() - t0);
  }
  const s = snap;
  const uncondChecks = checks(g, g.realUnconditional, n, 11);
  const condChecks = checks(g, g.realConditional, n, 13);
  const engine = (c: CheckInput) => evaluate(s, c).allowed;
  // Ceiling: a plain Map of (principal, resource) → allowed, built from the engine's own answers.
  const map = new Map<string, boolean>();
  for (const c of uncondChecks) map.set(c.principal + "\u0000" + c.resource, engine(c));
  const mixes = [
    { name: "unconditional mix", run: engine, list: uncondChecks, stats: null },
    { name: "conditional mix", run: engine, list: condChecks, stats: null },
    { name: "Map ceiling", run: (c: CheckInput) => map.get(c.principal + "\u0000" + c.resource) === true, list: uncondChecks, stats: null },
  ];
  for (const m of mixes) for (let i = 0; i < Math.min(m.list.length, 50_000); i++) m.run(m.list[i] as CheckInput); // warm up
  const header = `${users} users, ${groups} groups, ${g.services.length} resources, ${bindings} bindings (${g.data.policies?.length} policies)`;
  return { label, header, snap: s, compileMs, heapMb: heap, n, mixes };
}

interface WorldResult {
  compileMs: number;
  uncond: Stats;
  cond: Stats;
  map: Stats;
}

function report(w: World): WorldResult {
  // Memory of the memos built lazily by the checks (plans, tiers, identities, level results):
  // the heap with them minus the heap after clearing them (the snapshot itself is counted above).
  const withMemos = heapMb();
  for (const m of [w.snap._.planMemo, w.snap._.tierMemo, w.snap._.identityMemo, w.snap._.levelSets, w.snap._.levelMemo]) m.clear();
  const memoMb = withMemos - heapMb();
  const f = (x: number) => x.toFixed(2);
  console.log(`\n== ${w.label}: ${w.header}; one core, best of ${PASSES} passes`);
  console.log(`compile ${w.compileMs.toFixed(0)} ms, memory +${w.heapMb.toFixed(1)} MB, warnings ${w.snap.warnings.length}; evaluation memos after the checks ${memoMb.toFixed(1)} MB`);
  for (const m of w.mixes) {
    const s = m.stats as Stats;
    console.log(`${m.name.padEnd(18)} ${(s.checksPerS / 1e6).toFixed(3)} M checks/s   p50 ${f(s.p50)} µs   p99 ${f(s.p99)} µs   p99.9 ${f(s.p999)} µs   allowed ${((100 * s.allowed) / w.n).toFixed(1)} %`);
  }
  const [uncond, cond, map] = w.mixes.map((m) => m.stats as Stats) as [Stats, Stats, Stats];
  console.log(`ratio to Map: ${(uncond.checksPerS / map.checksPerS).toFixed(3)}`);
  return { compileMs: w.compileMs, uncond, cond, map };
}

const worlds = [prepare("10k world", 10_000, 1_000, 20_000, 200_000)];
if (!process.env.BENCH_SMALL_ONLY) worlds.push(prepare("100k world", 100_000, 10_000, 200_000, 200_000));
for (let p = 0; p < PASSES; p++) for (const w of worlds) for (const m of w.mixes) m.stats = best(m.stats, pass(m.run, m.list));
const small = report(worlds[0] as World);
const large = worlds[1] ? report(worlds[1]) : small;
const growth = large.uncond.p50 / small.uncond.p50;
const growthTput = small.uncond.checksPerS / large.uncond.checksPerS;
console.log(`\n100k vs 10k per-check cost: p50 ×${growth.toFixed(2)}, throughput ×${growthTput.toFixed(2)}`);
const targets = {
  ratio: small.uncond.checksPerS / small.map.checksPerS >= 0.25,
  p99: small.uncond.p99 <= 5,
  p99Conditional: small.cond.p99 <= 20,
  growth: growthTput <= 2,
  compile: small.compileMs <= 1000,
};
console.log(`targets: ${JSON.stringify(targets)}`);
console.log(
  JSON.stringify({
    bench: "engine",
    checks_per_s: Math.round(small.uncond.checksPerS),
    p99_us: Number(small.uncond.p99.toFixed(2)),
    p99_us_conditional: Number(small.cond.p99.toFixed(2)),
    map_checks_per_s: Math.round(small.map.checksPerS),
    ratio_to_map: Number((small.uncond.checksPerS / small.map.checksPerS).toFixed(3)),
    p99_us_100k: Number(large.uncond.p99.toFixed(2)),
    compile_ms: Math.round(small.compileMs),
  }),
);
