// The troubleshooter's and effective access's view models over a small world: the trace names the
// failing condition, group paths lead from the principal to the member, and what a viewer sees is
// cut to the policies it may read.
import { parse as parseCsv } from "csv-parse/sync";
import { describe, expect, it } from "vitest";
import { compile, type PolicyData } from "@/lib/policy";
import { principalActor } from "@/lib/admin/context";
import { AppError } from "@/lib/errors";
import { accessCsv, effectiveAccess } from "./effective-access";
import { troubleshoot, troubleshooterHref } from "./troubleshooter";

const now = new Date("2026-06-01T10:00:00Z");
const WEB = "projects/demo/iap_web/compute/services/web";
const data: PolicyData = {
  nodes: [
    { name: "organizations/1", parent: null },
    { name: "projects/demo", parent: "organizations/1" },
    { name: "projects/demo/iap_web", parent: "projects/demo" },
    { name: "projects/demo/iap_web/compute", parent: "projects/demo/iap_web" },
    { name: WEB, parent: "projects/demo/iap_web/compute", iapEnabled: true, hosts: ["web.example.test"] },
  ],
  principals: [{ member: "user:carol@example.com" }, { member: "user:mallory@example.com" }, { member: "user:off@example.com", disabled: true }],
  groups: [
    { email: "eng@example.com", members: ["group:sre@example.com", "user:mallory@example.com", "user:off@example.com"] },
    { email: "sre@example.com", members: ["user:carol@example.com"] },
  ],
  policies: [
    { resource: "organizations/1", bindings: [{ role: "roles/owner", members: ["user:admin@example.com"] }] },
    {
      resource: "projects/demo",
      bindings: [
        { role: "roles/iap.httpsResourceAccessor", members: ["group:eng@example.com"], condition: { title: "=Not admin", expression: "!request.path.startsWith('/admin')" } },
      ],
    },
    { resource: WEB, bindings: [{ role: "roles/iap.admin", members: ["user:webadmin@example.com"] }] },
  ],
  denyPolicies: [{ attachedTo: "projects/demo", rules: [{ deniedPrincipals: ["user:mallory@example.com"], deniedPermissions: ["iap.webServiceVersions.accessViaIAP"] }] }],
};
const s = compile(data, 7);
const admin = principalActor("user:admin@example.com");
const webAdmin = principalActor("user:webadmin@example.com");
const refused = (f: () => unknown, code: string) => {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(AppError);
    expect((e as AppError).code).toBe(code);
    return e as AppError;
  }
  throw new Error("not refused");
};

describe("troubleshoot", () => {
  it("names the failing condition and the group path, at the snapshot's revision", () => {
    const v = troubleshoot(s, admin, { principal: "carol@example.com", host: "web.example.test", path: "/admin/x", method: "post" }, now);
    expect(v.resource).toBe(WEB);
    expect(v.mappedFromHost).toBe(true);
    expect(v.decision).toMatchObject({ allowed: false, reason: "CONDITION_NOT_MET", revision: "7", principal: "user:carol@example.com" });
    const project = v.nodes.find((n) => n.name === "projects/demo")!;
    expect(project.bindings).toEqual([
      expect.objectContaining({ result: "CONDITION_FALSE", member: "group:eng@example.com", via: ["user:carol@example.com", "group:sre@example.com", "group:eng@example.com"], condition: { title: "=Not admin", expression: "!request.path.startsWith('/admin')" } }),
    ]);
    expect(project.deny[0]).toMatchObject({ result: "PRINCIPAL_NOT_MATCHED" });
    expect(v.nodes.map((n) => n.name)).toEqual(["organizations/1", "projects/demo", "projects/demo/iap_web", "projects/demo/iap_web/compute", WEB]);
    expect(v.attributes).toContainEqual({ name: "request.method", value: "POST" });
    expect(troubleshoot(s, admin, { principal: "user:carol@example.com", resource: WEB, path: "/", time: "2026-06-01T09:00" }, now).decision.reason).toBe("GRANTED");
  });

  it("shows the deny rule that applied", () => {
    const v = troubleshoot(s, admin, { principal: "user:mallory@example.com", resource: WEB, path: "/" }, now);
    expect(v.decision).toMatchObject({ reason: "DENIED_BY_POLICY", deniedBy: { attachedTo: "projects/demo", ruleIndex: 0 } });
    expect(v.nodes.find((n) => n.name === "projects/demo")!.deny[0]).toMatchObject({ result: "DENIED", deniedPrincipals: ["user:mallory@example.com"] });
  });

  it("needs the resource's getIamPolicy, refuses a missing resource alike, and hides ancestors' policies the viewer may not read", () => {
    refused(() => troubleshoot(s, principalActor("user:carol@example.com"), { principal: "user:carol@example.com", resource: WEB }, now), "PERMISSION_DENIED");
    const missing = refused(() => troubleshoot(s, webAdmin, { principal: "user:carol@example.com", resource: "projects/demo/iap_web/compute/services/nope" }, now), "PERMISSION_DENIED");
    expect(missing.message).toContain("(or it may not exist)");
    // iap.admin on the service: its own policy, not the project's (nor the deny rule, nor which binding decided).
    const v = troubleshoot(s, webAdmin, { principal: "user:carol@example.com", resource: WEB, path: "/" }, now);
    expect(v.decision.allowed).toBe(true);
    expect(v.decision.grantedBy).toBeUndefined();
    const project = v.nodes.find((n) => n.name === "projects/demo")!;
    expect(project).toMatchObject({ visible: false, bindings: [], deny: [] });
    expect(v.nodes.find((n) => n.name === WEB)!.visible).toBe(true);
  });

  it("refuses malformed questions field by field", () => {
    const e = refused(() => troubleshoot(s, admin, { principal: "carol", resource: WEB, ip: "999.1.1.1", path: "admin", method: "G T", extra: "x" }, now), "INVALID_ARGUMENT");
    expect(e.details.map((d) => d.path).sort()).toEqual(expect.arrayContaining(["ip", "method", "path", "principal"]));
    const unmapped = refused(() => troubleshoot(s, admin, { principal: "user:carol@example.com", host: "nowhere.example.test" }, now), "INVALID_ARGUMENT");
    expect(unmapped.details[0]!.path).toBe("host");
  });

  it("builds a shareable URL", () => {
    expect(troubleshooterHref({ principal: "user:a@example.com", path: "/x y", host: "" })).toBe("/troubleshooter?principal=user%3Aa%40example.com&path=%2Fx+y");
  });
});

describe("effective access", () => {
  it("who can reach a resource: each person with the binding and group path; deny and disabled say so", () => {
    const v = effectiveAccess(s, admin, { resource: WEB }, now);
    expect(v.mode).toBe("resource");
    const by = new Map(v.rows.map((r) => [r.principal, r]));
    expect(by.get("user:carol@example.com")).toMatchObject({ access: "CONDITIONAL", grantedOn: "projects/demo", member: "group:eng@example.com", via: ["user:carol@example.com", "group:sre@example.com", "group:eng@example.com"], condition: "=Not admin" });
    expect(by.get("user:mallory@example.com")!.access).toBe("DENIED_BY_POLICY");
    expect(by.get("user:off@example.com")!.access).toBe("PRINCIPAL_DISABLED");
    expect(v.distinct).toBe(3);
  });

  it("what a principal can reach, only where the viewer may read the policy", () => {
    const v = effectiveAccess(s, admin, { principal: "user:carol@example.com" }, now);
    expect(v.rows).toEqual([expect.objectContaining({ resource: WEB, access: "CONDITIONAL", grantedOn: "projects/demo" })]);
    const limited = effectiveAccess(s, webAdmin, { principal: "user:carol@example.com" }, now);
    expect(limited.rows).toEqual([]);
    expect(limited.hiddenPolicies).toBe(2); // the organization's and the project's
    refused(() => effectiveAccess(s, webAdmin, { resource: "projects/demo" }, now), "PERMISSION_DENIED");
    refused(() => effectiveAccess(s, admin, { resource: WEB, principal: "user:carol@example.com" }, now), "INVALID_ARGUMENT");
  });

  it("exports CSV that parses back, with formula-looking cells made inert", () => {
    const v = effectiveAccess(s, admin, { resource: WEB }, now);
    const records = parseCsv(accessCsv(v.rows), { columns: true }) as Array<Record<string, string>>;
    expect(records).toHaveLength(v.rows.length);
    const carol = records.find((r) => r.principal === "user:carol@example.com")!;
    expect(carol).toMatchObject({ access: "CONDITIONAL", via: "user:carol@example.com > group:sre@example.com > group:eng@example.com", condition: "'=Not admin" });
  });
});
