/**
 * Disabled principals (README invariant 9): denied everywhere with PRINCIPAL_DISABLED, also on a
 * warm snapshot after `withPrincipals`, in `explain`, and never listed by the queries. The case
 * table (world `disabled-principals`), the differential and the memo tests cover the rest.
 */
import { describe, expect, it } from "vitest";
import { compile, withPrincipals, withGroupMembers } from "./compile";
import { evaluate } from "./evaluate";
import { whoCan, whatCan } from "./queries";
import type { PolicyData, Principal } from "./types";

const time = new Date("2024-06-03T10:00:00Z");
const APP = "projects/p/iap_web/compute/services/app";
const data = (principals: Principal[]): PolicyData => ({
  nodes: [
    { name: "organizations/1", parent: null },
    { name: "projects/p", parent: "organizations/1" },
    { name: "projects/p/iap_web", parent: "projects/p" },
    { name: "projects/p/iap_web/compute", parent: "projects/p/iap_web" },
    { name: APP, parent: "projects/p/iap_web/compute", iapEnabled: true },
  ],
  principals,
  groups: [{ email: "staff@example.com", members: ["user:ann@example.com", "user:bea@example.com"] }],
  policies: [
    { resource: "projects/p", bindings: [{ role: "roles/iap.httpsResourceAccessor", members: ["group:staff@example.com", "user:cid@example.com"] }] },
    { resource: APP, bindings: [{ role: "roles/iap.httpsResourceAccessor", members: ["allAuthenticatedUsers"] }] },
  ],
});
const check = (principal: string, explain = false) => ({ principal, resource: APP, request: { time }, explain });
const ALL: Principal[] = [{ member: "user:ann@example.com" }, { member: "user:bea@example.com" }, { member: "user:cid@example.com" }];

describe("disabled principals", () => {
  it("take effect and lift on a warm snapshot (withPrincipals), in any spelling", () => {
    const s = compile(data(ALL), 1);
    // Warm every memo: identities, plans, tiers.
    for (const p of ["user:ann@example.com", "user:ANN@example.com", "user:bea@example.com"]) expect(evaluate(s, check(p)).allowed).toBe(true);
    const off = withPrincipals(s, [{ member: "user:Ann@Example.com", disabled: true }, ...ALL.slice(1)], 2);
    expect(evaluate(off, check("user:ann@example.com"))).toMatchObject({ allowed: false, reason: "PRINCIPAL_DISABLED", principal: "user:ann@example.com", revision: "2" });
    expect(evaluate(off, check("user:ANN@example.com"))).toMatchObject({ allowed: false, reason: "PRINCIPAL_DISABLED", principal: "user:ann@example.com" });
    expect(evaluate(off, check("user:bea@example.com")).allowed).toBe(true);
    // The source snapshot is unchanged.
    expect(evaluate(s, check("user:ann@example.com")).allowed).toBe(true);
    // Re-enabled: allowed again; a later group change keeps the flag.
    const on = withPrincipals(off, ALL, 3);
    expect(evaluate(on, check("user:ann@example.com")).allowed).toBe(true);
    expect(evaluate(off, check("user:ann@example.com")).reason).toBe("PRINCIPAL_DISABLED");
    const regrouped = withGroupMembers(off, "staff@example.com", ["user:bea@example.com"], 4);
    expect(evaluate(regrouped, check("user:ann@example.com")).reason).toBe("PRINCIPAL_DISABLED");
  });

  it("any entry naming the account disabled wins (duplicates in another case)", () => {
    const s = compile(data([{ member: "user:ann@example.com", disabled: true }, { member: "user:ANN@example.com" }]), 1);
    expect(evaluate(s, check("user:ann@example.com")).reason).toBe("PRINCIPAL_DISABLED");
    expect(s.principals.get("user:ann@example.com")?.disabled).toBe(true);
  });

  it("explain gives the reason as a note, and nothing else", () => {
    const s = compile(data([{ member: "user:cid@example.com", disabled: true }]), 1);
    const d = evaluate(s, check("user:cid@example.com", true));
    expect(d).toMatchObject({ allowed: false, reason: "PRINCIPAL_DISABLED" });
    expect(d.trace).toEqual([{ kind: "note", message: expect.stringContaining("user:cid@example.com is disabled") }]);
    expect(d.grantedBy).toBeUndefined();
  });

  it("are never listed by whoCan, and whatCan lists nothing for them", () => {
    const s = compile(data([...ALL.slice(0, 2), { member: "user:cid@example.com", disabled: true }]), 1);
    const who = whoCan(s, APP, undefined, { request: { time } });
    expect(who.principals.map((p) => p.principal)).toEqual(["user:ann@example.com", "user:bea@example.com"]);
    // The bindings themselves are still shown as written.
    expect(who.members.map((m) => m.member)).toContain("user:cid@example.com");
    expect(whatCan(s, "user:cid@example.com", undefined, { request: { time } })).toEqual([]);
    expect(whatCan(s, "user:ann@example.com", undefined, { request: { time } }).map((e) => e.resource)).toContain(APP);
  });
});
