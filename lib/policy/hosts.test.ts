/**
 * Host → resource mapping (`resolveHost`, README "Host mapping") and its write-time checks
 * (`validatePathPrefix`, `validateHostPattern`, `validateHostRoutes`).
 */
import { describe, expect, it } from "vitest";
import { compile, resolveHost, withNodes } from "./compile";
import { worldToPolicyData, type World } from "./world";
import { validateHostPattern, validateHostRoutes, validatePathPrefix } from "./validate";

const svc = (id: string) => `projects/p/iap_web/compute/services/${id}`;
const snap = (resources: NonNullable<World["resources"]>) => compile(worldToPolicyData({ organizations: [{ id: "1" }], projects: [{ id: "p", parent: "organizations/1" }], resources }), 1);
const to = (id: string) => ({ ok: true, resource: svc(id) });
const UNMAPPED = { ok: false, reason: "UNMAPPED" };
const AMBIGUOUS = { ok: false, reason: "AMBIGUOUS" };

describe("resolveHost", () => {
  const s = snap([
    { name: svc("root"), iap: true, hosts: ["app.example.test"] },
    { name: svc("app"), iap: true, hosts: ["app.example.test"], pathPrefix: "/app" },
    { name: svc("admin"), iap: true, hosts: ["app.example.test"], pathPrefix: "/app/admin" },
    { name: svc("api"), iap: true, hosts: ["api.example.test"], pathPrefix: "/v1" },
  ]);

  it("a prefix matches whole segments only", () => {
    for (const p of ["/app", "/app/", "/app/x", "/app/x/y?q=1", "/app/administrator"]) expect(resolveHost(s, "app.example.test", p), p).toEqual(to("app"));
    for (const p of ["/application", "/app.js", "/ap", "/apps/x", "/", "/x/app"]) expect(resolveHost(s, "app.example.test", p), p).toEqual(to("root"));
  });

  it("the longest matching prefix wins; a resource without prefix is the host's fallback", () => {
    expect(resolveHost(s, "app.example.test", "/app/admin")).toEqual(to("admin"));
    expect(resolveHost(s, "app.example.test", "/app/admin/users")).toEqual(to("admin"));
    expect(resolveHost(s, "app.example.test")).toEqual(to("root"));
    // No fallback on this host: paths outside every prefix are unmapped.
    expect(resolveHost(s, "api.example.test", "/v1/x")).toEqual(to("api"));
    expect(resolveHost(s, "api.example.test", "/v2/x")).toEqual(UNMAPPED);
    expect(resolveHost(s, "api.example.test", "/v1x")).toEqual(UNMAPPED);
    expect(resolveHost(s, "api.example.test")).toEqual(UNMAPPED);
    expect(resolveHost(s, "other.example.test", "/")).toEqual(UNMAPPED);
    expect(resolveHost(s, "", "/")).toEqual(UNMAPPED);
  });

  it("hosts are compared normalised (case, trailing dot, port)", () => {
    expect(resolveHost(s, "APP.Example.TEST.", "/app/x")).toEqual(to("app"));
    expect(resolveHost(s, "app.example.test:8443", "/app/x")).toEqual(to("app"));
  });

  it("raw and normalised paths must select the same resource, else the mapping is ambiguous", () => {
    // Same resource either way: fine.
    for (const p of ["/app/./x", "/app//x", "/app/x/../y", "/x/../y"]) expect(resolveHost(s, "app.example.test", p), p).toEqual(p.startsWith("/app") ? to("app") : to("root"));
    // Normalisation moves the path into or out of a prefix (or between prefixes): ambiguous.
    for (const p of ["/x/../app/y", "/app/../x", "/%61pp/x", "/app;v=1/x", "//app/x", "/app/admin/../x", "/app/x/../../admin/y", "/app%2fadmin/x", "/app\\admin"]) {
      expect(resolveHost(s, "app.example.test", p), p).toEqual(AMBIGUOUS);
    }
    // One variant selects a resource and the other none: ambiguous too.
    expect(resolveHost(s, "api.example.test", "/x/../v1/y")).toEqual(AMBIGUOUS);
    expect(resolveHost(s, "api.example.test", "/v1/../x")).toEqual(AMBIGUOUS);
    // Neither selects one: unmapped.
    expect(resolveHost(s, "api.example.test", "/a/../b")).toEqual(UNMAPPED);
  });

  it("single-label wildcard hosts, as in TLS certificates; an exact host beats a wildcard", () => {
    const w = snap([
      { name: svc("any"), iap: true, hosts: ["*.example.test"] },
      { name: svc("anyapi"), iap: true, hosts: ["*.example.test"], pathPrefix: "/api" },
      { name: svc("exact"), iap: true, hosts: ["www.example.test"], pathPrefix: "/shop" },
      { name: svc("deep"), iap: true, hosts: ["*.b.example.test"] },
    ]);
    expect(resolveHost(w, "a.example.test", "/")).toEqual(to("any"));
    expect(resolveHost(w, "A.Example.Test.", "/api/x")).toEqual(to("anyapi"));
    expect(resolveHost(w, "example.test", "/")).toEqual(UNMAPPED);
    expect(resolveHost(w, "x.a.example.test", "/")).toEqual(UNMAPPED);
    expect(resolveHost(w, "c.b.example.test", "/")).toEqual(to("deep"));
    expect(resolveHost(w, "b.example.test", "/")).toEqual(to("any"));
    // An exact host takes the host entirely (as a server name does): its routes only.
    expect(resolveHost(w, "www.example.test", "/shop/x")).toEqual(to("exact"));
    expect(resolveHost(w, "www.example.test", "/other")).toEqual(UNMAPPED);
    // Not a hostname: no wildcard applies.
    expect(resolveHost(w, "*.example.test", "/")).toEqual(UNMAPPED);
    const ip = snap([{ name: svc("ip"), iap: true, hosts: ["*.0.0.1"] }]);
    expect(resolveHost(ip, "127.0.0.1", "/")).toEqual(UNMAPPED);
  });

  it("stored prefixes are used in their normal form (data written before write-time checks)", () => {
    const legacy = snap([
      { name: svc("a"), iap: true, hosts: ["h.example.test"], pathPrefix: "/api/" },
      { name: svc("b"), iap: true, hosts: ["h.example.test"], pathPrefix: "/" },
    ]);
    expect(resolveHost(legacy, "h.example.test", "/api")).toEqual(to("a"));
    expect(resolveHost(legacy, "h.example.test", "/api/v1")).toEqual(to("a"));
    expect(resolveHost(legacy, "h.example.test", "/apiv1")).toEqual(to("b"));
  });

  it("two resources on the same host and prefix (stored data) are ambiguous, never first-wins", () => {
    const dup = snap([
      { name: svc("a"), iap: true, hosts: ["h.example.test"], pathPrefix: "/x" },
      { name: svc("b"), iap: true, hosts: ["h.example.test"], pathPrefix: "/x/" },
      { name: svc("c"), iap: true, hosts: ["h.example.test", "H.example.test"] },
    ]);
    expect(resolveHost(dup, "h.example.test", "/x/1")).toEqual(AMBIGUOUS);
    expect(resolveHost(dup, "h.example.test", "/y")).toEqual(to("c"));
  });

  it("follows incremental node updates", () => {
    const s2 = withNodes(s, [{ name: svc("v2"), parent: "projects/p/iap_web/compute", iapEnabled: true, hosts: ["api.example.test"], pathPrefix: "/v2" }], 2);
    expect(resolveHost(s2, "api.example.test", "/v2/x")).toEqual(to("v2"));
    expect(resolveHost(s, "api.example.test", "/v2/x")).toEqual(UNMAPPED);
  });
});

describe("write-time checks of host routes", () => {
  it("path prefixes must be written in normal form; the message gives it", () => {
    expect(validatePathPrefix("/app")).toEqual([]);
    expect(validatePathPrefix("/app/v1")).toEqual([]);
    for (const [written, normal] of [
      ["/app/", "/app"],
      ["/a/../b", "/b"],
      ["/%7Euser", "/~user"],
      ["/a;v=1/b", "/a/b"],
      ["//a", "/a"],
      ["/a/./b/", "/a/b"],
    ]) {
      const issues = validatePathPrefix(written as string);
      expect(issues, written).toHaveLength(1);
      expect(issues[0]?.message, written).toContain(`"${normal}"`);
    }
    expect(validatePathPrefix("/")[0]?.message).toMatch(/same as no prefix/);
    expect(validatePathPrefix("app")[0]?.message).toMatch(/start with \//);
    expect(validatePathPrefix("/a?b")[0]?.message).toMatch(/"\/a"/);
  });

  it("wildcard hosts are one leading label over at least two labels", () => {
    expect(validateHostPattern("*.example.com")).toEqual([]);
    expect(validateHostPattern("app.example.com")).toEqual([]);
    expect(validateHostPattern("*.com")[0]?.message).toMatch(/wildcard/);
    expect(validateHostPattern("a.*.example.com")[0]?.message).toMatch(/wildcard/);
    expect(validateHostPattern("*app.example.com")[0]?.message).toMatch(/wildcard/);
    expect(validateHostPattern("**.example.com")[0]?.message).toMatch(/wildcard/);
  });

  it("refuses two resources claiming the same host and prefix, naming both", () => {
    const issues = validateHostRoutes([
      { name: svc("a"), hosts: ["app.example.test", "*.example.test"], pathPrefix: "/x" },
      { name: svc("b"), hosts: ["other.example.test", "APP.example.test."], pathPrefix: "/x" },
      { name: svc("c"), hosts: ["app.example.test"] },
      { name: svc("d"), hosts: ["app.example.test:8080"] },
      { name: svc("e"), hosts: ["*.example.test"], pathPrefix: "/y" },
      { name: svc("f"), hosts: ["*.example.test"], pathPrefix: "/x" },
      { name: svc("g"), hosts: ["app.example.test", "app.example.test"], pathPrefix: "/z" },
    ]);
    expect(issues.map((i) => i.path)).toEqual(["[1].hosts[1]", "[3].hosts[0]", "[5].hosts[0]"]);
    expect(issues[0]?.message).toContain(svc("a"));
    expect(issues[0]?.message).toContain(svc("b"));
    expect(issues[0]?.message).toContain("[0]");
    expect(issues[0]?.message).toContain('"/x"');
    expect(issues[1]?.message).toContain(svc("c"));
    expect(issues[1]?.message).toContain("no path prefix");
    expect(issues[2]?.message).toContain("*.example.test");
  });
});
