import { describe, expect, it } from "vitest";
import { compile } from "@/lib/policy";
import { heldRoles, memberPaths, reachOf } from "./grants";

const NOW = new Date("2026-12-01T12:00:00Z");
const WEB = "projects/p/iap_web/compute/services/web";
const RUN = "projects/p/locations/europe-west1/services/api";

const snapshot = compile(
  {
    nodes: [
      { name: "organizations/1", domain: "example.com" } as never,
      { name: "projects/p", parent: "organizations/1" },
      { name: WEB, parent: "projects/p", iapEnabled: true },
      { name: RUN, parent: "projects/p" },
    ],
    principals: [{ member: "user:ann@example.com" }, { member: "user:bo@example.com", disabled: true }],
    groups: [
      { email: "outer@example.com", members: ["group:inner@example.com"] },
      { email: "inner@example.com", members: ["user:ann@example.com", "user:bo@example.com"] },
    ],
    policies: [
      { resource: "projects/p", bindings: [{ role: "roles/viewer", members: ["domain:example.com"] }] },
      { resource: WEB, bindings: [{ role: "roles/iap.httpsResourceAccessor", members: ["group:outer@example.com"] }] },
      { resource: RUN, bindings: [{ role: "roles/run.invoker", members: ["user:ann@example.com"], condition: { title: "Mornings", expression: "request.time.getHours('UTC') < 9" } }] },
    ],
  },
  1,
);

describe("memberPaths", () => {
  it("names every group containing the member through nesting, with the path, and its domain and the public members", () => {
    const p = memberPaths(snapshot, "user:ann@example.com");
    expect(p.get("user:ann@example.com")).toEqual([]);
    expect(p.get("group:inner@example.com")).toEqual(["group:inner@example.com"]);
    expect(p.get("group:outer@example.com")).toEqual(["group:inner@example.com", "group:outer@example.com"]);
    expect(p.get("domain:example.com")).toEqual([]);
    expect(p.has("allUsers")).toBe(true);
  });

  it("gives a group no domain and no public members (a binding to domain: does not cover a group as such)", () => {
    const p = memberPaths(snapshot, "group:inner@example.com");
    expect([...p.keys()].sort()).toEqual(["group:inner@example.com", "group:outer@example.com"]);
  });
});

describe("heldRoles", () => {
  it("lists direct, nested-group and domain bindings, with conditions, on resources the viewer may see only", () => {
    const all = heldRoles(snapshot, () => true, "user:ann@example.com");
    expect(all.map((h) => [h.resource, h.role, h.member, h.via.length, h.condition])).toEqual([
      ["projects/p", "roles/viewer", "domain:example.com", 0, null],
      [WEB, "roles/iap.httpsResourceAccessor", "group:outer@example.com", 2, null],
      [RUN, "roles/run.invoker", "user:ann@example.com", 0, "Mornings"],
    ]);
    expect(heldRoles(snapshot, (r) => r !== WEB, "user:ann@example.com").map((h) => h.resource)).not.toContain(WEB);
  });
});

describe("reachOf", () => {
  it("is the engine's answer for passage permissions: a conditional grant counts only when its condition holds, a disabled principal reaches nothing", () => {
    const noon = reachOf(snapshot, () => true, "user:ann@example.com", NOW);
    expect(noon.map((r) => [r.resource, r.grantedBy.member, r.via])).toEqual([[WEB, "group:outer@example.com", ["group:inner@example.com", "group:outer@example.com"]]]);
    const early = reachOf(snapshot, () => true, "user:ann@example.com", new Date("2026-12-01T08:00:00Z"));
    expect(early.map((r) => r.resource).sort()).toEqual([RUN, WEB].sort());
    expect(reachOf(snapshot, () => true, "user:bo@example.com", NOW)).toEqual([]);
    expect(reachOf(snapshot, (r) => r !== WEB, "user:ann@example.com", NOW)).toEqual([]);
  });
});
