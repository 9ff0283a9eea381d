/**
 * Benchmark of the troubleshooter and effective-access pages (not a test): the server's time to
 * build each page's view model and render it to HTML (react-dom/server), in the 10k world of
 * lib/bench/world.ts (10,000 users, 1,000 nested groups, 500 web services, 20,000 bindings),
 * viewed by an owner of the organization (who sees every policy: the most work). No database: the
 * pages read the engine's in-memory snapshot, compiled here from the same world.
 *
 * `benchTroubleshooter()` / `benchEffectiveAccess()` return the median milliseconds per page (for
 * bench:console); run alone (`tsx lib/bench/console-ops.ts`) it prints the figures, last line JSON.
 */
import { createElement } from "react";
import { renderToString } from "react-dom/server";
import { compile, worldToPolicyData, type Snapshot } from "@/lib/policy";
import { principalActor } from "@/lib/admin/context";
import { AccessTable } from "@/components/effective-access/access-table";
import { TraceView } from "@/components/troubleshooter/trace-view";
import { effectiveAccess } from "@/lib/console/effective-access";
import { troubleshoot } from "@/lib/console/troubleshooter";
import { generateWorld, type BenchWorld } from "./world";

const ADMIN = "user:bench-owner@example.com";
/** Rows the effective-access page renders (as app/(console)/effective-access/page.tsx). */
const SHOWN = 500;

let cached: { gen: BenchWorld; s: Snapshot } | null = null;

function world(): { gen: BenchWorld; s: Snapshot } {
  if (cached) return cached;
  const gen = generateWorld({ issuer: "https://idp.example.com", audience: "gatehouse" });
  const data = worldToPolicyData(gen.world);
  const policies = (data.policies ?? []).map((p) => (p.resource === "organizations/1" ? { ...p, bindings: [...p.bindings, { role: "roles/owner", members: [ADMIN] }] } : p));
  if (!policies.some((p) => p.resource === "organizations/1")) policies.push({ resource: "organizations/1", bindings: [{ role: "roles/owner", members: [ADMIN] }] });
  cached = { gen, s: compile({ ...data, policies }, 1) };
  return cached;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Median ms of the troubleshooter page (view model + render) over `runs` of the world's checks. */
export function benchTroubleshooter(runs = 60): number {
  const { gen, s } = world();
  const actor = principalActor(ADMIN);
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const c = gen.checks[i % gen.checks.length]!;
    const t0 = performance.now();
    const view = troubleshoot(s, actor, { principal: c.principal, resource: c.resource, host: c.request.host, path: c.request.path, method: c.request.method, ip: c.request.ip }, new Date());
    renderToString(createElement(TraceView, { view }));
    times.push(performance.now() - t0);
  }
  return median(times);
}

/** Median ms of the effective-access page, alternating "who can reach this service" and "what can this user reach". */
export function benchEffectiveAccess(runs = 40): number {
  const { gen, s } = world();
  const actor = principalActor(ADMIN);
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const c = gen.checks[i % gen.checks.length]!;
    const t0 = performance.now();
    const view = effectiveAccess(s, actor, i % 2 === 0 ? { resource: c.resource } : { principal: c.principal }, new Date());
    renderToString(createElement(AccessTable, { rows: view.rows.slice(0, SHOWN), subject: view.mode === "resource" ? "principal" : "resource", caption: "Effective access" }));
    times.push(performance.now() - t0);
  }
  return median(times);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const t0 = performance.now();
  const { gen, s } = world();
  console.log(`World: ${gen.counts.users} users, ${gen.counts.groups} groups, ${gen.counts.resources} resources, ${gen.counts.bindings} bindings; compiled in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const actor = principalActor(ADMIN);
  const who = effectiveAccess(s, actor, { resource: gen.services[0]! }, new Date());
  const what = effectiveAccess(s, actor, { principal: gen.checks[0]!.principal }, new Date());
  console.log(`  effective access: ${gen.services[0]} → ${who.rows.length} rows (${who.distinct} principals); ${gen.checks[0]!.principal} → ${what.rows.length} rows (${what.distinct} resources)`);
  // Warm-up (JIT, the snapshot's memos), then the measured runs.
  benchTroubleshooter(20);
  benchEffectiveAccess(10);
  const troubleshooter = benchTroubleshooter();
  const effective = benchEffectiveAccess();
  console.log(`  troubleshooter page (view model + render), median: ${troubleshooter.toFixed(1)} ms`);
  console.log(`  effective-access page (view model + render of ≤ ${SHOWN} rows), median: ${effective.toFixed(1)} ms`);
  console.log(JSON.stringify({ bench: "console-ops", troubleshooter_ms: Number(troubleshooter.toFixed(1)), effective_access_ms: Number(effective.toFixed(1)) }));
}
