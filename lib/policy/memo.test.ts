/**
 * Memo safety: evaluation plans, merged chain indexes, identities and access-level results are
 * memoised inside snapshots and shared with (or filtered into) derived snapshots. Here every
 * incremental update is applied to a snapshot whose memos are warm, and the result must decide
 * exactly like a fresh `compile` of the same data — and the snapshot it was derived from must
 * keep deciding as before.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { compile, snapshotData, withPolicy, withDenyPolicies, withGroupMembers, withAccessLevels, withCustomRoles, withNodes, withoutNodes, withPrincipals, withRevision, type Snapshot } from "./compile";
import { evaluate } from "./evaluate";
import { worldArb, checkArb, MEMBERS, GROUPS, LEVELS, USERS, SAS } from "./testing/arbitraries";
import type { CheckInput, Decision } from "./types";

const SEED = Number(process.env.POLICY_DIFF_SEED ?? 20241122);

function strip(d: Decision): Omit<Decision, "trace" | "revision"> {
  const { trace: _t, revision: _r, ...rest } = d;
  return rest;
}

const POOL = [...USERS.map((u) => `user:${u}`), ...SAS.map((s) => `serviceAccount:${s}`)];
const FRESH = ["user:stranger@example.com", "user:u4@sub.example.com", "domain:sub.example.com", "allAuthenticatedUsers", "allUsers", "serviceAccount:sa1@example.com"];

const opArb = fc.record({
  kind: fc.constantFrom("policy", "policy", "fresh", "fresh", "clear", "deny", "group", "roles", "levels", "iap", "remove", "principals", "disable", "disable", "revision"),
  a: fc.nat(),
  b: fc.nat(),
  members: fc.array(fc.constantFrom(...MEMBERS.filter((m) => !m.startsWith("domain:") && !m.startsWith("all"))), { maxLength: 3 }),
});

describe("memos stay correct across incremental updates", () => {
  it("updates applied to warm snapshots decide like a full compile, and leave their source unchanged", { timeout: 300_000 }, () => {
    let compared = 0;
    fc.assert(
      fc.property(
        worldArb.chain((w) => fc.tuple(fc.constant(w), fc.array(checkArb(w.resources), { minLength: 60, maxLength: 60 }), fc.array(opArb, { minLength: 1, maxLength: 8 }))),
        ([w, checks, ops]) => {
          const decide = (s: Snapshot) => checks.map((c: CheckInput) => strip(evaluate(s, c)));
          let s = compile(w.data, 0);
          let before = decide(s);
          const policies = w.data.policies ?? [];
          const denies = w.data.denyPolicies ?? [];
          ops.forEach((op, i) => {
            const names = [...s.nodes.keys()];
            const node = names[op.a % Math.max(1, names.length)] ?? "organizations/1";
            let next: Snapshot;
            switch (op.kind) {
              case "policy": {
                const p = policies[op.b % Math.max(1, policies.length)];
                next = withPolicy(s, { resource: node, bindings: p ? p.bindings : [] }, i + 1);
                break;
              }
              case "fresh":
                // Members no other binding may name yet (new interned keys for warm identities).
                next = withPolicy(s, { resource: node, bindings: [{ role: op.b % 2 === 0 ? "roles/iap.httpsResourceAccessor" : "roles/viewer", members: [FRESH[op.b % FRESH.length] as string, ...op.members] }] }, i + 1);
                break;
              case "clear":
                next = withPolicy(s, { resource: node, bindings: [] }, i + 1);
                break;
              case "deny":
                next = withDenyPolicies(s, node, denies.slice(0, op.b % (denies.length + 1)), i + 1);
                break;
              case "group":
                next = withGroupMembers(s, GROUPS[op.a % GROUPS.length] as string, op.b % 4 === 0 ? null : op.members, i + 1);
                break;
              case "roles":
                next = withCustomRoles(s, op.b % 2 === 0 ? [] : [{ name: "projects/p0/roles/mixed", permissions: ["iap.webServiceVersions.accessViaIAP"] }], i + 1);
                break;
              case "levels":
                next = withAccessLevels(s, (w.data.accessLevels ?? []).filter((l) => l.name !== LEVELS[op.b % LEVELS.length]), i + 1);
                break;
              case "iap": {
                const n = s.nodes.get(node);
                next = n?.isWeb ? withNodes(s, [{ name: n.name, parent: n.parent, iapEnabled: !n.iapEnabled }], i + 1) : withRevision(s, i + 1);
                break;
              }
              case "remove":
                next = node.includes("/services/") ? withoutNodes(s, [node], i + 1) : withRevision(s, i + 1);
                break;
              case "principals":
                next = withPrincipals(s, [], i + 1);
                break;
              case "disable": {
                // Disable or re-enable one account (sometimes named in another case), or add it
                // disabled: identities already memoised for it must follow.
                const member = POOL[op.b % POOL.length] as string;
                const spelled = op.a % 2 === 0 ? member : member.toUpperCase().replace(/^USER:/, "user:").replace(/^SERVICEACCOUNT:/, "serviceAccount:");
                const list = [...s.principals.entries()].filter(([key]) => key !== member).map(([, p]) => p);
                const was = s.principals.get(member)?.disabled === true;
                next = withPrincipals(s, [...list, { member: spelled, disabled: !was }], i + 1);
                break;
              }
              default:
                next = withRevision(s, i + 1);
            }
            const got = decide(next);
            expect(got).toEqual(decide(compile(snapshotData(next), i + 1)));
            // The source snapshot is not affected by the update or by the new snapshot's memos.
            expect(decide(s)).toEqual(before);
            compared += checks.length;
            s = next;
            before = got;
          });
        },
      ),
      { seed: SEED, numRuns: 80 },
    );
    expect(compared).toBeGreaterThan(10_000);
  });
});

describe("withRevision", () => {
  it("relabels a snapshot without changing anything else", () => {
    const data = {
      nodes: [
        { name: "organizations/1", parent: null },
        { name: "projects/p", parent: "organizations/1" },
        { name: "projects/p/iap_web", parent: "projects/p" },
      ],
      policies: [{ resource: "projects/p", bindings: [{ role: "roles/iap.httpsResourceAccessor", members: ["user:a@example.com"] }] }],
    };
    const s = compile(data, 1);
    const check = { principal: "user:a@example.com", resource: "projects/p/iap_web", request: { time: new Date("2024-01-01T00:00:00Z") } };
    const d1 = evaluate(s, check);
    const s2 = withRevision(s, 2n);
    expect(s2.revision).toBe("2");
    expect(s.revision).toBe("1");
    expect(Object.isFrozen(s2)).toBe(true);
    expect(s2.policies).toBe(s.policies);
    expect(s2.nodes).toBe(s.nodes);
    const d2 = evaluate(s2, check);
    expect(d2.revision).toBe("2");
    expect(evaluate(s, check).revision).toBe("1");
    expect({ ...d2, revision: "1" }).toEqual(d1);
    expect(withRevision(s, "1")).toBe(s);
    expect(snapshotData(s2)).toEqual(snapshotData(s));
  });
});

describe("identity memo", () => {
  it("stays exact as it grows, when member keys are added, and for principals given in another case", () => {
    const users = Array.from({ length: 3000 }, (_, i) => `user:u${i}@example.com`);
    const data = {
      nodes: [
        { name: "projects/p", parent: null },
        { name: "projects/p/iap_web", parent: "projects/p" },
      ],
      groups: [{ email: "odd@example.com", members: users.filter((_, i) => i % 2 === 1) }],
      policies: [{ resource: "projects/p", bindings: [{ role: "roles/iap.httpsResourceAccessor", members: users.filter((_, i) => i % 3 === 0) }] }],
    };
    const time = new Date("2024-01-01T00:00:00Z");
    const check = (principal: string) => ({ principal, resource: "projects/p/iap_web", request: { time } });
    const s = compile(data, 1);
    // 3,000 identities: the arena that holds their ids grows several times.
    for (let i = 0; i < users.length; i++) {
      const d = evaluate(s, check(users[i] as string));
      expect(d.allowed, users[i]).toBe(i % 3 === 0);
      expect(d.principal).toBe(users[i]);
    }
    // The decision names the canonical principal, also when the check spelled it otherwise.
    expect(evaluate(s, check("user:U3@Example.COM"))).toMatchObject({ allowed: true, principal: "user:u3@example.com", grantedBy: { member: "user:u3@example.com" } });
    // A binding naming the group adds a key id: memoised identities must pick it up (shared memo).
    const s2 = withPolicy(s, { resource: "projects/p", bindings: [...(data.policies[0]?.bindings ?? []), { role: "roles/iap.httpsResourceAccessor", members: ["group:odd@example.com"] }] }, 2);
    for (let i = 0; i < users.length; i++) {
      const d = evaluate(s2, check(users[i] as string));
      expect(d.allowed, users[i]).toBe(i % 3 === 0 || i % 2 === 1);
      if (i % 3 !== 0 && i % 2 === 1) expect(d.grantedBy?.member).toBe("group:odd@example.com");
    }
    expect(evaluate(s, check("user:u1@example.com")).allowed).toBe(false);
  });
});
