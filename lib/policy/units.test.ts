import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { normaliseHost, normalisePath, normalisePathFully, pathVariants } from "./request";
import { checkEmail, normaliseEmail, parseMember, parseDenyPrincipal, parsePrincipal } from "./members";
import { parseResourceName, defaultPermission, normalisePermission } from "./resources";
import { validatePolicy, validateDenyPolicy, validateCondition, validateCustomRole, validateAccessLevel, validateGroupMembership, LIMITS } from "./validate";
import { compileCondition, MAX_LOGICAL_OPERATORS } from "./cel";
import { parseSubnet, parseIp } from "./ip";
import { compile, resolveHost } from "./compile";
import { evaluate } from "./evaluate";
import { worldToPolicyData } from "./world";
import { RESOURCE_TYPES } from "./types";

describe("request normalisation", () => {
  it.each([
    ["/", "/"],
    ["", "/"],
    ["/a/b", "/a/b"],
    ["/%61dmin", "/admin"],
    ["/%2561dmin", "/admin"],
    ["//admin", "/admin"],
    ["/x/../admin", "/admin"],
    ["/x/./y/", "/x/y/"],
    ["/../../a", "/a"],
    ["/admin;jsessionid=1/x", "/admin/x"],
    ["/a%2fb", "/a/b"],
    ["\\admin", "/admin"],
    ["/a?x=/admin", "/a"],
    ["/a#x", "/a"],
    ["/caf%c3%a9", "/caf%C3%A9"],
    ["/x/..", "/"],
    ["/x/%2e%2e/", "/"],
  ])("normalisePath(%j) = %j", (input, want) => {
    expect(normalisePath(input)).toBe(want);
  });
  it("the fast path agrees with the full normalisation", () => {
    const segment = fc.stringMatching(/^[a-z.;%2ef\\?#]{0,4}$/);
    fc.assert(
      fc.property(fc.array(segment, { maxLength: 6 }), fc.boolean(), (segs, lead) => {
        const p = (lead ? "/" : "") + segs.join("/");
        expect(normalisePath(p)).toBe(normalisePathFully(p));
      }),
      { seed: 7, numRuns: 20_000 },
    );
    for (const p of ["/", "/a", "/a/", "/.well-known/x", "/a/.b", "/a..b/c", "/a.", "/api/v1/items"]) expect(normalisePath(p)).toBe(normalisePathFully(p));
  });
  it("returns both variants when they differ", () => {
    expect(pathVariants("/x/../admin")).toEqual(["/admin", "/x/../admin"]);
    expect(pathVariants("/a")).toEqual(["/a"]);
    expect(pathVariants(undefined)).toEqual([undefined]);
  });
  it.each([
    ["Example.COM.", "example.com"],
    ["example.com:8443", "example.com"],
    ["[::1]:443", "[::1]"],
    ["a.b..", "a.b"],
  ])("normaliseHost(%j) = %j", (input, want) => expect(normaliseHost(input)).toBe(want));
});

describe("members and emails", () => {
  it("lower-cases and validates", () => {
    expect(normaliseEmail("Alice@Example.COM")).toBe("alice@example.com");
    expect(normaliseEmail("not-an-email")).toBeNull();
    expect(normaliseEmail("a@b")).toBeNull();
  });
  it("rejects look-alike Unicode rather than folding it", () => {
    const r = checkEmail("\u0430lice@example.com");
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(/U\+0430/);
    expect(checkEmail("alice@exаmple.com").ok).toBe(false);
    expect(checkEmail("alice@example.com\u200b").ok).toBe(false);
    expect(checkEmail("ａlice@example.com").ok).toBe(false);
  });
  it("parses every member kind", () => {
    expect(parseMember("user:A@x.io")).toEqual({ ok: true, value: { kind: "user", email: "a@x.io", key: "user:a@x.io" } });
    expect(parseMember("deleted:serviceAccount:s@p.iam.gserviceaccount.com?uid=123").ok).toBe(true);
    expect(parseMember("deleted:user:a@x.io").ok).toBe(false);
    expect(parseMember("domain:Example.com")).toMatchObject({ ok: true, value: { key: "domain:example.com" } });
    expect(parseMember("allUsers").ok).toBe(true);
    expect(parseMember("allusers").ok).toBe(false);
    expect(parseMember("User:a@x.io").ok).toBe(false);
    expect(parsePrincipal("group:g@x.io").ok).toBe(false);
  });
  it("maps IAM v2 deny principals", () => {
    expect(parseDenyPrincipal("principalSet://goog/public:all")).toMatchObject({ ok: true, value: { kind: "allUsers" } });
    expect(parseDenyPrincipal("principal://goog/subject/a@x.io")).toMatchObject({ ok: true, value: { key: "user:a@x.io" } });
    expect(parseDenyPrincipal("principalSet://goog/group/g@x.io")).toMatchObject({ ok: true, value: { key: "group:g@x.io" } });
    expect(parseDenyPrincipal("principal://iam.googleapis.com/projects/-/serviceAccounts/s@p.iam.gserviceaccount.com")).toMatchObject({ ok: true, value: { kind: "serviceAccount" } });
    expect(parseDenyPrincipal("principalSet://goog/cloudIdentityCustomerId/C01").ok).toBe(false);
  });
});

describe("resources", () => {
  it.each([
    ["organizations/1", RESOURCE_TYPES.organization, null],
    ["projects/p/iap_web", RESOURCE_TYPES.iapWeb, "projects/p"],
    ["projects/p/iap_web/compute/services/s", RESOURCE_TYPES.iapWebService, "projects/p/iap_web/compute"],
    ["projects/p/iap_web/appengine-a/services/s/versions/v", RESOURCE_TYPES.iapWebServiceVersion, "projects/p/iap_web/appengine-a/services/s"],
    ["projects/p/iap_web/cloud_run-eu/services/s", RESOURCE_TYPES.iapWebService, "projects/p/iap_web/cloud_run-eu"],
    ["projects/p/iap_tunnel/zones/z/instances/i", RESOURCE_TYPES.iapTunnelInstance, "projects/p/iap_tunnel/zones/z"],
    ["projects/p/locations/r/services/s", RESOURCE_TYPES.runService, "projects/p"],
    ["projects/p/locations/r/functions/f", RESOURCE_TYPES.cloudFunction, "projects/p"],
  ])("%s", (name, type, parent) => {
    expect(parseResourceName(name)).toEqual({ type, impliedParent: parent });
  });
  it("rejects unknown shapes and defaults permissions", () => {
    expect(parseResourceName("projects/p/other")).toBeNull();
    expect(defaultPermission(RESOURCE_TYPES.iapTunnelInstance)).toBe("iap.tunnelInstances.accessViaIAP");
    expect(defaultPermission(RESOURCE_TYPES.project)).toBe("iap.webServiceVersions.accessViaIAP");
    expect(normalisePermission("iap.googleapis.com/webServiceVersions.accessViaIAP")).toBe("iap.webServiceVersions.accessViaIAP");
    expect(normalisePermission("iap.googleapis.com/*")).toBe("iap.*");
  });
  it("maps host (and longest path prefix) to a resource (more in hosts.test.ts)", () => {
    const s = compile(
      worldToPolicyData({
        organizations: [{ id: "1" }],
        projects: [{ id: p, parent: "organizations/1" }].map(() => ({ id: "p", parent: "organizations/1" })),
        resources: [
          { name: "projects/p/iap_web/compute/services/a", iap: true, hosts: ["app.example.test"] },
          { name: "projects/p/iap_web/compute/services/b", iap: true, hosts: ["app.example.test"], pathPrefix: "/api/" },
        ],
      }),
      1,
    );
    expect(resolveHost(s, "APP.example.test.", "/x")).toEqual({ ok: true, resource: "projects/p/iap_web/compute/services/a" });
    expect(resolveHost(s, "app.example.test", "/api/v1")).toEqual({ ok: true, resource: "projects/p/iap_web/compute/services/b" });
    // Raw path → a, normalised → b: ambiguous (it used to pick b).
    expect(resolveHost(s, "app.example.test", "/x/../api/v1")).toEqual({ ok: false, reason: "AMBIGUOUS" });
    expect(resolveHost(s, "other.test", "/")).toEqual({ ok: false, reason: "UNMAPPED" });
  });
});
const p = "p";

describe("IP and subnets (ipaddr.js)", () => {
  it("requires host bits zero", () => {
    expect(parseSubnet("10.0.0.0/8").ok).toBe(true);
    expect(parseSubnet("10.0.0.1/8")).toMatchObject({ ok: false });
    expect(parseSubnet("2001:db8::/32").ok).toBe(true);
    expect(parseSubnet("2001:db8::1/32").ok).toBe(false);
    expect(parseSubnet("10.0.0.0/33").ok).toBe(false);
    expect(parseSubnet("10.0.0.0").ok).toBe(false);
  });
  it("accepts only canonical IPs", () => {
    expect(parseIp("10.0.0.1")?.toString()).toBe("10.0.0.1");
    expect(parseIp("::ffff:10.0.0.1")?.kind()).toBe("ipv4");
    expect(parseIp("10.1")).toBeNull();
    expect(parseIp("012.0.0.1")).toBeNull(); // leading zeros (octal in some parsers) are refused
    expect(parseIp("0x0a.0.0.1")).toBeNull();
  });
});

describe("conditions: write-time validation", () => {
  it("reports syntax errors with a position", () => {
    const issues = validateCondition("request.path.startsWith('/a') &&\n  request.host ==", "c");
    expect(issues[0]?.message).toMatch(/^\d+:\d+: syntax error/);
  });
  it("rejects unknown attributes and functions with positions", () => {
    expect(validateCondition("request.foo == 'x'")[0]?.message).toMatch(/1:8: unknown attribute "request.foo"/);
    expect(validateCondition("resource.labels.env == 'x'")[0]?.message).toMatch(/unknown attribute/);
    expect(validateCondition("request.path.lowerAscii() == 'x'")[0]?.message).toMatch(/unknown function/);
    expect(validateCondition("nope")[0]?.message).toMatch(/unknown identifier/);
  });
  it("type-checks by dry run", () => {
    expect(validateCondition("request.path.startsWith(1)")[0]?.message).toMatch(/type error/);
    expect(validateCondition("request.path")[0]?.message).toMatch(/bool/);
    expect(validateCondition("request.time < timestamp('not a time')")[0]?.message).toMatch(/type error/);
    expect(validateCondition("request.time.getHours('Mars/Olympus') > 1")[0]?.message).toMatch(/time zone/i);
  });
  it("rejects invalid RE2 and accepts RE2 flags", () => {
    expect(validateCondition("request.path.matches('(a')")[0]?.message).toMatch(/regular expression/);
    expect(validateCondition("request.path.matches('(?i)^/api')")).toEqual([]);
  });
  it("limits logical operators, size and cost", () => {
    const ok = Array.from({ length: MAX_LOGICAL_OPERATORS + 2 }, (_, i) => `request.path != '/${i}'`).join(" && ");
    expect(validateCondition(ok)[0]?.message).toMatch(/13 logical operators/);
    expect(validateCondition(Array.from({ length: 13 }, (_, i) => `request.path != '/${i}'`).join(" && "))).toEqual([]);
    expect(validateCondition("request.path == '" + "x".repeat(5000) + "'")[0]?.message).toMatch(/limit/);
    expect(validateCondition("request.auth.access_levels.exists(a, request.auth.access_levels.exists(b, a == b))")[0]?.message).toMatch(/nested comprehensions/);
  });
  it("accepts IAM/IAP documentation examples", () => {
    for (const e of [
      "request.host == 'example.com'",
      "request.path.startsWith('/admin') && request.host.endsWith('.example.com')",
      "request.time.getHours('America/Los_Angeles') >= 9 && request.time.getHours('America/Los_Angeles') <= 17",
      "request.time.getDayOfWeek('Europe/Berlin') >= 1 && request.time.getDayOfWeek('Europe/Berlin') <= 5",
      "request.time < timestamp('2025-01-01T00:00:00Z')",
      "'accessPolicies/1234/accessLevels/corp' in request.auth.access_levels",
      "destination.port == 22 && destination.ip == '10.0.0.1'",
      "inIpRange(destination.ip, '10.0.0.0/8')",
      "resource.type == 'iap.googleapis.com/WebService' && resource.name.startsWith('projects/p/')",
      "resource.service == 'iap.googleapis.com'",
      "resource.name.extract('/services/{name}') == 'web'",
      "has(request.host) && request.method in ['GET', 'HEAD']",
    ]) {
      expect(validateCondition(e), e).toEqual([]);
    }
  });
  it("records access-level references", () => {
    const c = compileCondition("'accessPolicies/1/accessLevels/a' in request.auth.access_levels || 'accessPolicies/1/accessLevels/b' in request.auth.access_levels");
    expect(c.ok && c.value.accessLevelRefs instanceof Set && [...c.value.accessLevelRefs]).toEqual(["accessPolicies/1/accessLevels/a", "accessPolicies/1/accessLevels/b"]);
    const all = compileCondition("size(request.auth.access_levels) > 0");
    expect(all.ok && all.value.accessLevelRefs).toBe("all");
  });
  // The outcome memo is keyed by exactly these reads: a missing one would answer a check with
  // another check's outcome (the differential test also catches that; this names the cases).
  it.each([
    ["request.host == 'a' && request.path.startsWith('/x')", ["request.host", "request.path"]],
    ["request.time.getHours('Europe/Berlin') >= 9 && request.time.getDayOfWeek() < 6", ["request.time/s"]],
    ["request.time.getSeconds() == 0 && request.method == 'GET'", ["request.time/s", "request.method"]],
    ["'accessPolicies/1/accessLevels/a' in request.auth.access_levels", ["request.auth"]],
    ["has(request.auth) && size(request.auth) == 1", ["request.auth"]],
    ["resource.name.endsWith('/s0') && destination.port == 22", ["destination.port", "resource.name"]],
    ["[1, 2].exists(request, request > 1)", []],
    // The exact time (milliseconds, comparisons, arithmetic, presence): not memoised.
    ["request.time.getMilliseconds() < 500", null],
    ["request.time < timestamp('2030-01-01T00:00:00Z')", null],
    ["request.time.getHours() > 8 && request.time - duration('1h') < timestamp('2030-01-01T00:00:00Z')", null],
    ["has(request.time)", null],
  ])("memo key of %s", (expression, reads) => {
    const c = compileCondition(expression);
    expect(c.ok && c.value.reads).toEqual(reads);
  });
  it("access-level conditions have no outcome memo key", () => {
    const c = compileCondition("origin.region_code == 'DE'", "accessLevel");
    expect(c.ok && c.value.reads).toBeNull();
  });
});

describe("validatePolicy", () => {
  it("accepts a valid policy", () => {
    expect(
      validatePolicy({
        resource: "projects/demo",
        version: 3,
        bindings: [
          { role: "roles/iap.httpsResourceAccessor", members: ["group:eng@example.com", "deleted:user:x@example.com?uid=1"], condition: { title: "t", expression: "request.path.startsWith('/a')" } },
          { role: "projects/demo/roles/custom", members: ["domain:example.com", "allAuthenticatedUsers"] },
        ],
      }, { customRoles: [{ name: "projects/demo/roles/custom", permissions: ["iap.webServiceVersions.accessViaIAP"] }] }),
    ).toEqual({ ok: true, errors: [] });
  });
  it("reports each problem with a path", () => {
    const r = validatePolicy({
      resource: "projects/demo",
      version: 1,
      bindings: [
        { role: "roles/nope", members: ["user:ok@example.com"] },
        { role: "roles/viewer", members: ["user:\u0430lice@example.com", "bogus", "group:"] },
        { role: "roles/iap.httpsResourceAccessor", members: [], condition: { title: "", expression: "request.foo" } },
      ],
    });
    expect(r.ok).toBe(false);
    const paths = r.errors.map((e) => e.path);
    expect(paths).toEqual(expect.arrayContaining(["version", "bindings[0].role", "bindings[1].members[0]", "bindings[1].members[1]", "bindings[1].members[2]", "bindings[2].members", "bindings[2].condition.title", "bindings[2].condition.expression"]));
    expect(r.errors.find((e) => e.path === "bindings[1].members[0]")?.message).toMatch(/U\+0430/);
  });
  it("enforces GCP limits", () => {
    const members = Array.from({ length: LIMITS.membersPerPolicy + 1 }, (_, i) => `user:u${i}@example.com`);
    expect(validatePolicy({ resource: "projects/x", bindings: [{ role: "roles/viewer", members }] }).errors[0]?.message).toMatch(/1500/);
    const groups = Array.from({ length: LIMITS.groupsPerPolicy + 1 }, (_, i) => `group:g${i}@example.com`);
    expect(validatePolicy({ resource: "projects/x", bindings: [{ role: "roles/viewer", members: groups }] }).errors[0]?.message).toMatch(/250/);
    const conditional = Array.from({ length: LIMITS.conditionalBindings + 1 }, (_, i) => ({ role: "roles/viewer", members: ["user:a@example.com"], condition: { title: `t${i}`, expression: `request.path == '/${i}'` } }));
    expect(validatePolicy({ resource: "projects/x", version: 3, bindings: conditional }).errors.some((e) => /conditional bindings; a policy may have at most 100/.test(e.message))).toBe(true);
  });
  it("validates deny policies, custom roles, access levels and group cycles", () => {
    expect(validateDenyPolicy({ attachedTo: "projects/p/iap_web", rules: [] }).errors[0]?.path).toBe("attachedTo");
    expect(validateDenyPolicy({ attachedTo: "projects/p", rules: [{ deniedPrincipals: ["principalSet://goog/public:all"], deniedPermissions: ["iap.googleapis.com/*", "iap.nope.x"] }] }).errors.map((e) => e.path)).toEqual(["rules[0].deniedPermissions[1]"]);
    expect(validateCustomRole({ name: "projects/p/roles/reader", permissions: ["iap.webServiceVersions.accessViaIAP", "made.up.perm"] }).errors.map((e) => e.path)).toEqual(["permissions[1]"]);
    expect(validateCustomRole({ name: "roles/mine", permissions: ["run.routes.invoke"] }).errors.map((e) => e.path)).toEqual(["name"]);
    expect(validateAccessLevel({ name: "accessPolicies/1/accessLevels/x", basic: { conditions: [{ ipSubnetworks: ["10.0.0.1/8"] }, { regions: ["Germany"] }] } }).errors.map((e) => e.path)).toEqual(["basic.conditions[0].ipSubnetworks[0]", "basic.conditions[1].regions[0]"]);
    expect(validateAccessLevel({ name: "accessPolicies/1/accessLevels/x", custom: { expr: { expression: "inIpRange(origin.ip, '10.0.0.0/8')" } } }).ok).toBe(true);
    const groups = [
      { email: "a@example.com", members: ["group:b@example.com"] },
      { email: "b@example.com", members: ["user:u@example.com"] },
    ];
    expect(validateGroupMembership(groups, "b@example.com", ["group:A@example.com"]).ok).toBe(false);
    expect(validateGroupMembership(groups, "b@example.com", ["group:b@example.com"]).ok).toBe(false);
    expect(validateGroupMembership(groups, "c@example.com", ["group:a@example.com"]).ok).toBe(true);
    expect(validateGroupMembership(groups, "c@example.com", ["domain:example.com"]).ok).toBe(false);
  });
});

describe("decision contract details", () => {
  const s = compile(
    worldToPolicyData({
      organizations: [{ id: "1" }],
      projects: [{ id: "p", parent: "organizations/1" }],
      resources: [{ name: "projects/p/iap_web/compute/services/s", iap: true }],
      policies: [{ resource: "projects/p", bindings: [{ role: "roles/iap.httpsResourceAccessor", members: ["user:a@example.com"] }] }],
    }),
    "42",
  );
  it("names revision, principal (canonical), resource and defaulted permission", () => {
    const d = evaluate(s, { principal: "user:A@Example.com", resource: "projects/p/iap_web/compute/services/s", request: { time: new Date(0) } });
    expect(d).toEqual({
      allowed: true,
      reason: "GRANTED",
      revision: "42",
      principal: "user:a@example.com",
      resource: "projects/p/iap_web/compute/services/s",
      permission: "iap.webServiceVersions.accessViaIAP",
      grantedBy: { resource: "projects/p", role: "roles/iap.httpsResourceAccessor", member: "user:a@example.com" },
      accessLevels: { satisfied: [], unsatisfied: [] },
    });
  });
  it("explains every binding considered", () => {
    const d = evaluate(s, { principal: "user:b@example.com", resource: "projects/p/iap_web/compute/services/s", request: { time: new Date(0) }, explain: true });
    expect(d.trace).toEqual([{ kind: "binding", resource: "projects/p", bindingIndex: 0, role: "roles/iap.httpsResourceAccessor", result: "MEMBER_NOT_MATCHED" }]);
  });
  it("is pure: the snapshot is frozen", () => {
    expect(Object.isFrozen(s)).toBe(true);
  });
});
