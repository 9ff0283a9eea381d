/**
 * Benchmark of the console's server rendering (not a test): `npm run bench:console` (issue 12).
 *
 * The 10k world (lib/bench/world.ts) grown to 5,000 web services in its 50 projects, applied into
 * an embedded PostgreSQL; one instance's engine, registered as the console's (lib/decide/registry);
 * policies along one web service's chain naming 10,000+ principals (users and groups, direct and
 * inherited). Each page measured has its own function, timing what its server component does —
 * the view model (lib/console, with its database reads and engine checks), React's render of the
 * components to HTML, and the serialisation of their props (what Next.js streams as the RSC
 * payload) — as the median of BENCH_RUNS runs (default 15) after 3 warm-ups.
 *
 *   iapPanel:   the IAP page's info panel for that service                 target ≤ 500 ms
 *   iapFilter:  the panel's filter over those rows (what a keystroke costs) target ≤ 100 ms
 *   iapTree:    the IAP page's resource tree of 50 projects and 5,000 services  target ≤ 500 ms
 *
 * The last line is one JSON object (iap_filter_ms and iap_page_ms after the pinned keys); troubleshooter_ms and effective_access_ms are filled in by
 * those pages' own functions (added next to these).
 */
import { benchEffectiveAccess, benchTroubleshooter } from "./console-ops";
import fsp from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { generateWorld } from "./world";

// React's production build, as the server renders with (its development build checks much more);
// react and react-dom are imported after this, dynamically.
(process.env as Record<string, string>).NODE_ENV = "production";
const { createElement } = await import("react");
const { renderToString } = await import("react-dom/server");

const RUNS = Number(process.env.BENCH_RUNS ?? 15);
const WARMUP = 3;
const ADMIN = "user:u0@example.com";
const ACCESSOR = "roles/iap.httpsResourceAccessor";
const SERVICES_PER_PROJECT = 100;
const log = (s: string) => console.log(s);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function timed(label: string, run: () => Promise<unknown> | unknown): Promise<number> {
  for (let i = 0; i < WARMUP; i++) await run();
  const samples: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now();
    await run();
    samples.push(performance.now() - t);
  }
  const m = median(samples);
  log(`  ${label}: median ${m.toFixed(1)} ms, max ${Math.max(...samples).toFixed(1)} ms (${RUNS} runs)`);
  return m;
}

type Bench = Awaited<ReturnType<typeof setUp>>;

async function setUp() {
  const { ensureEmbeddedPostgres } = await import("@/lib/db/embedded");
  const { applyMigrations } = await import("@/lib/db/migrate");
  const { createPrismaClient } = await import("@/lib/db/client");
  const { parseWorld } = await import("@/lib/world/parse");
  const { applyWorld } = await import("@/lib/world/apply");
  const { worldCatalog } = await import("@/lib/world/catalog");
  const { getIamPolicy, setIamPolicy } = await import("@/lib/admin/policies");
  const { startDecisionStack } = await import("@/lib/decide/stack");
  const { registerEngine } = await import("@/lib/decide/registry");
  const { principalActor } = await import("@/lib/admin/context");

  const pgDir = await fsp.mkdtemp(path.join(os.tmpdir(), "gatehouse-bench-console-pg-"));
  const pg = await ensureEmbeddedPostgres({ dataDir: pgDir, database: "bench", ephemeral: true });
  await applyMigrations(pg.url);
  // The console's own reads (lib/db/client db()) use DATABASE_URL, as under the server.
  process.env.DATABASE_URL = pg.url;
  const prisma = createPrismaClient(pg.url);

  const gen = generateWorld({ issuer: "https://idp.example.com", audience: "gatehouse" });
  const world = gen.world as { projects: Array<{ id: string }>; resources: Array<{ name: string; iap?: boolean; hosts?: string[] }> };
  for (const p of world.projects) {
    for (let s = 10; s < SERVICES_PER_PROJECT; s++) world.resources.push({ name: `projects/${p.id}/iap_web/compute/services/s${s}`, iap: s % 3 !== 0, hosts: [`s${s}.${p.id}.example.com`] });
  }
  const t0 = performance.now();
  await applyWorld(prisma, parseWorld(JSON.stringify(world), "bench-world.json"), { actor: "system:bench", catalog: worldCatalog() });
  log(`World: ${gen.counts.users} users, ${gen.counts.groups} groups, ${world.resources.length} web services in ${world.projects.length} projects (applied in ${((performance.now() - t0) / 1000).toFixed(1)} s)`);

  // The panel's resource: a service of a project two folders deep, and policies all along its
  // chain (service, its web type, All web services, project, both folders, organization) naming
  // 1,250 users and 200 groups each — over 10,000 principals in the panel.
  const system = { db: prisma, actor: { kind: "system" as const, name: "system:bench" as const } };
  const service = "projects/bench-p5/iap_web/compute/services/s0";
  const chain = [service, "projects/bench-p5/iap_web/compute", "projects/bench-p5/iap_web", "projects/bench-p5", "folders/105", "folders/100", "organizations/1"];
  let named = 0;
  for (const [i, resource] of chain.entries()) {
    const users = gen.users.slice(i * 1250, i * 1250 + 1250).map((u) => `user:${u}`);
    const groups = Array.from({ length: 200 }, (_, g) => `group:g${(i * 200 + g) % 1000}@example.com`);
    const p = await getIamPolicy(system, resource, { options: { requestedPolicyVersion: 3 } });
    const extra = [{ role: i % 2 ? "roles/viewer" : ACCESSOR, members: [...users, ...groups] }];
    if (resource === "organizations/1") extra.push({ role: "roles/owner", members: [ADMIN] });
    await setIamPolicy(system, resource, { policy: { version: 3, etag: p.etag, bindings: extra } });
    named += users.length + groups.length;
  }

  const spoolDir = await fsp.mkdtemp(path.join(os.tmpdir(), "gatehouse-bench-console-spool-"));
  const instance = { authSecret: "bench-only-auth-secret-0123456789abcdef", publicUrl: "http://gatehouse.bench" };
  const stack = await startDecisionStack({ prisma, databaseUrl: pg.url, publicUrl: instance.publicUrl, authSecret: instance.authSecret, bootstrapAdmins: [], spoolDir });
  registerEngine(stack.ctx.engine, instance);
  const ctx = { db: prisma, actor: principalActor(ADMIN), engine: stack.ctx.engine, instance };
  log(`  ${named.toLocaleString("en-US")} principals named along ${service}'s chain; engine at revision ${stack.ctx.engine.current().revision}`);
  return {
    ctx,
    service,
    async stop() {
      await stack.stop();
      await prisma.$disconnect();
      await pg.stop();
      await fsp.rm(pgDir, { recursive: true, force: true }).catch(() => {});
      await fsp.rm(spoolDir, { recursive: true, force: true }).catch(() => {});
    },
  };
}

/** The IAP page with one resource selected: its info panel's view model, HTML and props. */
async function iapPanel(b: Bench): Promise<number> {
  const { getIapPanel } = await import("@/lib/console/iap");
  const { InfoPanel } = await import("@/components/iap/info-panel");
  const view = await getIapPanel(b.ctx, [b.service]);
  log(`IAP panel of ${b.service}: ${view.rows.length.toLocaleString("en-US")} grants, ${view.members.length.toLocaleString("en-US")} principals, props ${(JSON.stringify(view).length / 1e6).toFixed(2)} MB`);
  await timed("  of which the view model", () => getIapPanel(b.ctx, [b.service]));
  return timed("view model + render + props", async () => {
    const v = await getIapPanel(b.ctx, [b.service]);
    renderToString(createElement(InfoPanel, { view: v, onReload: () => {}, reloading: false }));
    JSON.stringify(v);
  });
}

/** A keystroke in the panel's filter: the rows matching the text (the page shown is 100 rows). */
async function iapFilter(b: Bench): Promise<number> {
  const { getIapPanel } = await import("@/lib/console/iap");
  const { filterRows, sortRows } = await import("@/lib/console/iap-view");
  const view = await getIapPanel(b.ctx, [b.service]);
  const sorted = sortRows(view);
  const queries = ["u1", "u12", "u123", "g4", "viewer", "folders/105", "zzz"];
  let i = 0;
  return timed(`filter of ${sorted.length.toLocaleString("en-US")} rows (${queries.join(", ")})`, () => filterRows(view, sorted, queries[i++ % queries.length]!));
}

/** The IAP page's resource tree: every visible organization, folder, project and service. */
async function iapTree(b: Bench): Promise<number> {
  const { getResourceTree } = await import("@/lib/console/tree");
  const { ResourceTree } = await import("@/components/iap/resource-tree");
  const selection = { selected: new Set<string>(), onToggle: () => {}, onOnly: () => {}, onChanged: () => {} };
  const principal = b.ctx.actor.kind === "principal" ? b.ctx.actor.principal : ADMIN;
  const roots = await getResourceTree(principal);
  let count = 0;
  const walk = (ns: typeof roots) => ns.forEach((n) => (count++, walk(n.children)));
  walk(roots);
  log(`IAP page tree: ${count.toLocaleString("en-US")} nodes, props ${(JSON.stringify(roots).length / 1e6).toFixed(2)} MB`);
  await timed("  of which the tree's view model", () => getResourceTree(principal));
  return timed("tree + render + props", async () => {
    const r = await getResourceTree(principal);
    renderToString(createElement(ResourceTree, { roots: r, selection }));
    JSON.stringify(r);
  });
}

async function main(): Promise<void> {
  // Audit records are keyed (lib/audit/chain.ts); the bench and the servers it starts share one key.
  process.env.GATEHOUSE_AUDIT_KEY ??= "bench-audit-key-0123456789abcdef0123456789";
  const b = await setUp();
  try {
    const panel = await iapPanel(b);
    const filter = await iapFilter(b);
    const tree = await iapTree(b);
    const troubleshooter = benchTroubleshooter();
    const effective = benchEffectiveAccess();
    log(`troubleshooter (view model + render, 10k world): ${troubleshooter.toFixed(1)} ms; effective access: ${effective.toFixed(1)} ms`);
    const ok = (ms: number, target: number) => (ms <= target ? "ok" : "OVER TARGET");
    log(`Targets: panel ${ok(panel, 500)}, filter ${ok(filter, 100)}, tree ${ok(tree, 500)}`);
    console.log(
      JSON.stringify({
        bench: "console",
        iap_panel_ms: Math.round(panel),
        troubleshooter_ms: Math.round(troubleshooter * 10) / 10,
        effective_access_ms: Math.round(effective * 10) / 10,
        iap_filter_ms: Math.round(filter * 10) / 10,
        iap_page_ms: Math.round(tree),
      }),
    );
  } finally {
    await b.stop();
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
