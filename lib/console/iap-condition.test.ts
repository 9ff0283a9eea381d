// The condition builder's expressions: what each choice writes, that every combination compiles
// with the core's own compiler (under IAM's 12-operator bound), and that it decides as intended.
import { describe, expect, it } from "vitest";
import { compile, compileCondition, evaluate } from "@/lib/policy";
import { buildExpression, EMPTY_CHOICES, suggestTitle, type ConditionChoices } from "./iap-condition";

const choose = (c: Partial<ConditionChoices>): ConditionChoices => ({ ...EMPTY_CHOICES, ...c });

describe("buildExpression", () => {
  it("writes nothing for no choice", () => {
    expect(buildExpression(EMPTY_CHOICES)).toBeNull();
    expect(buildExpression(choose({ hosts: [" "], days: [0, 1, 2, 3, 4, 5, 6] }))).toBeNull();
  });

  it("writes each restriction in IAP's attributes, joined with &&", () => {
    expect(buildExpression(choose({ pathPrefixes: ["/docs"] }))).toBe('request.path.startsWith("/docs")');
    expect(buildExpression(choose({ hosts: ["App.Example.com", "b.example.com"], pathPrefixes: ["/a", "/b"] }))).toBe(
      'request.host in ["app.example.com", "b.example.com"] && (request.path.startsWith("/a") || request.path.startsWith("/b"))',
    );
    expect(buildExpression(choose({ notAfter: "2030-01-01T00:00:00Z", hours: { from: 9, until: 17 }, days: [5, 1, 2, 3, 4], timeZone: "Europe/Berlin" }))).toBe(
      'request.time < timestamp("2030-01-01T00:00:00Z") && request.time.getHours("Europe/Berlin") >= 9 && request.time.getHours("Europe/Berlin") < 17 && request.time.getDayOfWeek("Europe/Berlin") in [1, 2, 3, 4, 5]',
    );
    expect(buildExpression(choose({ accessLevels: ["accessPolicies/1/accessLevels/corp"] }))).toBe('"accessPolicies/1/accessLevels/corp" in request.auth.access_levels');
  });

  it("escapes what is typed: a quote cannot end the literal", () => {
    const e = buildExpression(choose({ pathPrefixes: ['/x") || true || ("'] }))!;
    expect(compileCondition(e).ok).toBe(true);
    expect(e).toBe('request.path.startsWith("/x\\") || true || (\\"")');
  });

  it("compiles with the core for every choice together", () => {
    const all = choose({
      hosts: ["a.example.com", "b.example.com"],
      pathPrefixes: ["/a", "/b", "/c"],
      notBefore: "2020-01-01T00:00:00Z",
      notAfter: "2030-01-01T00:00:00Z",
      hours: { from: 8, until: 18 },
      days: [1, 2, 3],
      timeZone: "America/New_York",
      accessLevels: ["accessPolicies/1/accessLevels/corp", "accessPolicies/1/accessLevels/de"],
    });
    const r = compileCondition(buildExpression(all)!);
    expect(r.ok, JSON.stringify(!r.ok && r.errors)).toBe(true);
  });

  it("decides as written: a path condition lets /docs through and not /admin", () => {
    const expression = buildExpression(choose({ pathPrefixes: ["/docs"], days: [1, 2, 3, 4, 5] }))!;
    const app = "projects/p/iap_web/compute/services/app";
    const s = compile(
      {
        nodes: [{ name: "organizations/1", parent: null }, { name: "projects/p", parent: "organizations/1" }, { name: app, parent: "projects/p", iapEnabled: true }],
        policies: [{ resource: app, bindings: [{ role: "roles/iap.httpsResourceAccessor", members: ["user:a@x.test"], condition: { title: "t", expression } }] }],
      },
      1,
    );
    const check = (path: string, time: string) => evaluate(s, { principal: "user:a@x.test", resource: app, permission: "iap.webServiceVersions.accessViaIAP", request: { path, host: "h", time: new Date(time) } }).allowed;
    expect(check("/docs/x", "2026-12-07T10:00:00Z")).toBe(true); // a Monday
    expect(check("/admin", "2026-12-07T10:00:00Z")).toBe(false);
    expect(check("/docs/x", "2026-12-06T10:00:00Z")).toBe(false); // a Sunday
  });
});

describe("suggestTitle", () => {
  it("names the choices briefly", () => {
    expect(suggestTitle(choose({ pathPrefixes: ["/docs"], days: [1, 2, 3, 4, 5] }))).toBe("Path /docs, Weekdays");
    expect(suggestTitle(choose({ accessLevels: ["accessPolicies/1/accessLevels/corp"], notAfter: "2030-01-01T00:00:00Z" }))).toBe("Until 2030-01-01, Level corp");
  });
});
