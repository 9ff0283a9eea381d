/**
 * Cross-query consistency (whoCan / whatCan vs evaluate, exhaustively on random worlds) and
 * incremental updates (withPolicy, withDenyPolicies, withGroupMembers, …) vs a full compile.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { compile, snapshotData, withPolicy, withDenyPolicies, withGroupMembers, withAccessLevels, withCustomRoles, withNodes, withPrincipals } from "./compile";
import { evaluate } from "./evaluate";
import { whoCan, whatCan } from "./queries";
import { worldArb, checkArb, USERS, SAS, PERMISSIONS } from "./testing/arbitraries";
import type { Decision, PolicyData, RequestAttributes } from "./types";
import { parseMember } from "./members";

const SEED = Number(process.env.POLICY_DIFF_SEED ?? 20241122);
const POOL = [...USERS.map((u) => `user:${u}`), ...SAS.map((s) => `serviceAccount:${s}`)];
const REQUESTS: RequestAttributes[] = [
  { time: new Date("2024-06-03T13:00:00Z"), host: "a.example.test", path: "/a/x", ip: "10.1.2.3", regionCode: "DE" },
  { time: new Date("2024-06-03T08:00:00Z"), path: "/admin", method: "POST" },
];
const OPEN = new Set(["allUsers", "allAuthenticatedUsers", "domain"]);

function strip(d: Decision): Omit<Decision, "trace" | "revision"> {
  const { trace: _t, revision: _r, ...rest } = d;
  return rest;
}

describe("whoCan / whatCan agree with evaluate", () => {
  it("exhaustively on random worlds", { timeout: 120_000 }, () => {
    let pairs = 0;
    fc.assert(
      fc.property(worldArb, (w) => {
        const s = compile(w.data, 1);
        const known = new Set(s.principals.keys());
        for (const request of REQUESTS) {
          for (const permission of [undefined, ...PERMISSIONS]) {
            for (const resource of w.resources) {
              const who = whoCan(s, resource, permission, { request });
              const listed = new Map(who.principals.map((p) => [p.principal, p.grantedBy]));
              for (const p of POOL) {
                const d = evaluate(s, { principal: p, resource, permission, request });
                pairs++;
                const g = listed.get(p);
                if (g) {
                  // Sound: every listed principal is allowed, by the same binding.
                  expect(d.allowed).toBe(true);
                  expect(g).toEqual(d.grantedBy);
                } else if (d.allowed) {
                  // Complete: an allowed principal is missing only if unknown and allowed through an open member.
                  const kind = parseMember(d.grantedBy?.member ?? "");
                  expect(known.has(p)).toBe(false);
                  expect(kind.ok && OPEN.has(kind.value.kind)).toBe(true);
                }
                if (d.allowed) {
                  expect(who.members.some((m) => JSON.stringify(m.grantedBy) === JSON.stringify(d.grantedBy))).toBe(true);
                }
              }
              expect(who.anonymous).toBe(evaluate(s, { principal: null, resource, permission, request }).allowed);
            }
            for (const p of [...POOL, null]) {
              const what = new Map(whatCan(s, p, permission, { request }).map((e) => [e.resource, e]));
              for (const resource of w.resources) {
                const d = evaluate(s, { principal: p, resource, permission, request });
                expect(what.has(resource)).toBe(d.allowed);
                if (d.allowed) expect(what.get(resource)?.grantedBy).toEqual(d.grantedBy);
              }
            }
          }
        }
      }),
      { seed: SEED, numRuns: 25 },
    );
    expect(pairs).toBeGreaterThan(10_000);
  });
});

describe("incremental updates equal a full compile", () => {
  it("building a snapshot change by change gives the same decisions", { timeout: 120_000 }, () => {
    fc.assert(
      fc.property(
        worldArb.chain((w) => fc.tuple(fc.constant(w), fc.array(checkArb(w.resources), { minLength: 150, maxLength: 150 }))),
        ([w, checks]) => {
          const full = compile(w.data, 9);
          const empty: PolicyData = { nodes: w.data.nodes.map((n) => ({ ...n, iapEnabled: undefined })), principals: w.data.principals };
          let inc = compile(empty, 0);
          inc = withNodes(inc, w.data.nodes, 1);
          inc = withCustomRoles(inc, w.data.roles ?? [], 2);
          inc = withAccessLevels(inc, w.data.accessLevels ?? [], 3);
          for (const g of w.data.groups ?? []) inc = withGroupMembers(inc, g.email, g.members, 4);
          for (const p of w.data.policies ?? []) inc = withPolicy(inc, p, 5);
          const byNode = new Map<string, typeof w.data.denyPolicies>();
          for (const d of w.data.denyPolicies ?? []) byNode.set(d.attachedTo, [...(byNode.get(d.attachedTo) ?? []), d]);
          for (const [node, list] of byNode) inc = withDenyPolicies(inc, node, list ?? [], 9);
          inc = withPrincipals(inc, w.data.principals ?? [], 10);
          expect(inc.revision).toBe("10");
          const roundTrip = compile(snapshotData(inc), 9);
          for (const c of checks) {
            const want = strip(evaluate(full, c));
            expect(strip(evaluate(inc, c))).toEqual(want);
            expect(strip(evaluate(roundTrip, c))).toEqual(want);
          }
          // Removing a group and a policy again.
          const g0 = w.data.groups?.[0];
          const p0 = w.data.policies?.[0];
          if (g0 && p0) {
            const without: PolicyData = { ...w.data, groups: w.data.groups?.slice(1), policies: w.data.policies?.slice(1) };
            const want2 = compile(without, 11);
            const got2 = withPolicy(withGroupMembers(full, g0.email, null, 10), { resource: p0.resource, bindings: [] }, 11);
            for (const c of checks) expect(strip(evaluate(got2, c))).toEqual(strip(evaluate(want2, c)));
          }
          // The old snapshot is unchanged by updates derived from it.
          for (const c of checks.slice(0, 20)) expect(strip(evaluate(full, c))).toEqual(strip(evaluate(compile(w.data, 9), c)));
        },
      ),
      { seed: SEED, numRuns: 60 },
    );
  });
});
