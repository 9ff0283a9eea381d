// World-file validation that needs no database: host routes (path prefixes in normal form, no
// duplicate host+prefix pairs, wildcard shapes) and trusted issuers (https, domains), refused
// with their position in the file.
import { describe, expect, it } from "vitest";
import { AppError } from "@/lib/errors";
import { hasDuplicateKeys, parseWorld } from "./parse";
import { validateWorld } from "./validate";
import { worldCatalog } from "./catalog";
import type { World } from "./schema";

const HEAD = `organizations: [{ id: "1" }]
projects: [{ id: demo, parent: organizations/1 }]
`;

function problems(text: string): string[] {
  try {
    parseWorld(text, "w.yaml");
  } catch (e) {
    expect(e).toBeInstanceOf(AppError);
    return (e as AppError).details.map((d) => `${d.path}: ${d.message}`);
  }
  return [];
}

describe("resources: host routes", () => {
  it("accepts normal prefixes, distinct pairs and wildcard hosts", () => {
    const w = parseWorld(
      HEAD +
        `resources:
  - { name: projects/demo/iap_web/compute/services/a, hosts: [app.example.test, "*.example.test"] }
  - { name: projects/demo/iap_web/compute/services/b, hosts: [app.example.test], pathPrefix: /api }
  - { name: projects/demo/iap_web/compute/services/c, hosts: [app.example.test], pathPrefix: /api/v2 }
  - { name: projects/demo/iap_web/compute/services/d, hosts: [other.example.test], pathPrefix: /api }
`,
    );
    expect(w.resources?.[1]?.pathPrefix).toBe("/api");
  });

  it("refuses a prefix that is not in normal form, giving the normal form and the position", () => {
    const text =
      HEAD +
      `resources:
  - { name: projects/demo/iap_web/compute/services/a, hosts: [a.example.test], pathPrefix: /app/ }
  - { name: projects/demo/iap_web/compute/services/b, hosts: [a.example.test], pathPrefix: /x/../admin }
  - { name: projects/demo/iap_web/compute/services/c, hosts: [a.example.test], pathPrefix: / }
`;
    expect(problems(text)).toEqual([
      expect.stringMatching(/^w\.yaml:4:\d+: resources\[0\]\.pathPrefix: path prefix "\/app\/" is not in normal form; write "\/app"/),
      expect.stringMatching(/^w\.yaml:5:\d+: resources\[1\]\.pathPrefix: path prefix "\/x\/\.\.\/admin" is not in normal form; write "\/admin"/),
      expect.stringMatching(/^w\.yaml:6:\d+: resources\[2\]\.pathPrefix: .*same as no prefix/),
    ]);
  });

  it("refuses two resources claiming the same host and prefix, naming both, at the later claim", () => {
    const text =
      HEAD +
      `resources:
  - { name: projects/demo/iap_web/compute/services/a, hosts: [app.example.test], pathPrefix: /api }
  - { name: projects/demo/iap_web/compute/services/b, hosts: [app.example.test] }
  - { name: projects/demo/iap_web/compute/services/c, hosts: [x.example.test, APP.example.test.], pathPrefix: /api }
  - { name: projects/demo/iap_web/compute/services/d, hosts: [app.example.test] }
`;
    const found = problems(text);
    expect(found).toEqual([
      expect.stringMatching(/^w\.yaml:6:\d+: resources\[2\]\.hosts\[1\]: host "app\.example\.test" with path prefix "\/api" is claimed by both projects\/demo\/iap_web\/compute\/services\/a \(resources\[0\]\) and projects\/demo\/iap_web\/compute\/services\/c/),
      expect.stringMatching(/^w\.yaml:7:\d+: resources\[3\]\.hosts\[0\]: host "app\.example\.test" \(no path prefix\) is claimed by both projects\/demo\/iap_web\/compute\/services\/b \(resources\[1\]\) and projects\/demo\/iap_web\/compute\/services\/d/),
    ]);
    // The same check guards worlds built in code (applyWorld's reference checks).
    const w = parseWorld(HEAD);
    w.resources = [
      { name: "projects/demo/iap_web/compute/services/a", hosts: ["app.example.test"] },
      { name: "projects/demo/iap_web/compute/services/b", hosts: ["app.example.test"] },
    ];
    expect(validateWorld(w, worldCatalog()).map((p) => `${p.path}: ${p.message}`)).toEqual([expect.stringMatching(/^resources\[1\]\.hosts\[0\]: .*services\/a \(resources\[0\]\) and .*services\/b/)]);
  });

  it("refuses wildcards other than one whole first label over two or more labels", () => {
    const text =
      HEAD +
      `resources:
  - { name: projects/demo/iap_web/compute/services/a, hosts: ["*.test"] }
  - { name: projects/demo/iap_web/compute/services/b, hosts: ["a.*.example.test"] }
`;
    expect(problems(text)).toEqual([
      expect.stringMatching(/^w\.yaml:4:\d+: resources\[0\]\.hosts\[0\]: .*wildcard host needs at least two labels/),
      expect.stringMatching(/^w\.yaml:5:\d+: resources\[1\]\.hosts\[0\]: /),
    ]);
  });
});
describe("trustedIssuers", () => {
  const issuer = (fields: string) => `trustedIssuers:\n  - { ${fields} }\n`;

  it("accepts https issuers (http on loopback only) with the domains they may assert", () => {
    const w = parseWorld(
      `trustedIssuers:
  - { issuer: https://idp.example.com, audiences: [gatehouse], domains: [example.com, Example.ORG] }
  - { issuer: "http://127.0.0.1:9999", audiences: [x], domains: [example.com], allowUnverifiedEmails: true }
  - { issuer: "http://localhost:8080/realms/a", jwksUri: "http://localhost:8080/certs", audiences: [x], domains: [example.com] }
  - { issuer: "http://[::1]:5556", audiences: [x], domains: [example.com], jwksUri: "https://keys.example.com/jwks?x=1" }
  - { issuer: "http://127.9.8.7", audiences: [x], domains: [example.com] }
`,
    );
    expect(w.trustedIssuers?.[0]?.domains).toEqual(["example.com", "example.org"]);
    expect(w.trustedIssuers?.[1]?.allowUnverifiedEmails).toBe(true);
    expect(w.trustedIssuers?.[0]?.allowUnverifiedEmails).toBeUndefined();
  });

  it.each([
    ["plain http", 'issuer: "http://idp.example.com", audiences: [g], domains: [example.com]', /issuer: .*must be an https URL/],
    ["http on a look-alike of localhost", 'issuer: "http://localhost.evil.test", audiences: [g], domains: [example.com]', /issuer: .*must be an https URL/],
    ["http on 128.0.0.1", 'issuer: "http://128.0.0.1", audiences: [g], domains: [example.com]', /issuer: .*must be an https URL/],
    ["an http JWKS", 'issuer: "https://idp.example.com", jwksUri: "http://idp.example.com/jwks", audiences: [g], domains: [example.com]', /jwksUri: .*must be an https URL/],
    ["an issuer with a query", 'issuer: "https://idp.example.com/?a=b", audiences: [g], domains: [example.com]', /issuer: .*query or fragment/],
    ["not a URL", "issuer: idp.example.com, audiences: [g], domains: [example.com]", /issuer: /],
    ["no domains", 'issuer: "https://idp.example.com", audiences: [g]', /domains: /],
    ["an empty domain list", 'issuer: "https://idp.example.com", audiences: [g], domains: []', /domains: .*at least one/],
    ["a wildcard domain", 'issuer: "https://idp.example.com", audiences: [g], domains: ["*.example.com"]', /domains\[0\]: /],
    ["a look-alike domain", 'issuer: "https://idp.example.com", audiences: [g], domains: ["exаmple.com"]', /domains\[0\]: .*U\+0430/],
    ["a non-boolean allowUnverifiedEmails", 'issuer: "https://idp.example.com", audiences: [g], domains: [example.com], allowUnverifiedEmails: "yes"', /allowUnverifiedEmails: /],
  ])("refuses %s, with its position", (_name, fields, message) => {
    const found = problems(issuer(fields));
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(/^w\.yaml:2:\d+: trustedIssuers\[0\]/);
    expect(found[0]).toMatch(message);
  });

  it("lets the same check serve other writers (ZTrustedIssuer)", async () => {
    const { ZTrustedIssuer } = await import("./schema");
    const ok: NonNullable<World["trustedIssuers"]>[number] = ZTrustedIssuer.parse({ issuer: "https://idp.example.com", audiences: ["g"], domains: ["example.com"] });
    expect(ok.domains).toEqual(["example.com"]);
  });
});

describe("JSON world files", () => {
  const yaml = `organizations: [{ id: "1", displayName: "Ex \\"ample\\"", domain: example.com }]
projects: [{ id: demo, number: "100200300", parent: organizations/1 }]
users: [{ email: Alice@Example.com }]
groups: [{ email: eng@example.com, members: [user:ALICE@example.com] }]
policies: [{ resource: projects/demo, bindings: [{ role: roles/viewer, members: [group:eng@example.com],
  condition: { title: t, expression: "request.path.startsWith('/a')" } }] }]
`;

  it("reads a JSON file exactly as the same file in YAML", () => {
    const fromYaml = parseWorld(yaml, "w.yaml");
    const json = JSON.stringify(fromYaml, null, 2);
    expect(parseWorld(json, "w.json")).toEqual(fromYaml);
    // Canonicalisation (lower-cased emails) happens on the JSON path too.
    expect(parseWorld(JSON.stringify({ users: [{ email: "Bob@Example.com" }] }), "w.json").users).toEqual([{ email: "bob@example.com" }]);
  });

  it("refuses a repeated key in JSON as in YAML, with its position", () => {
    const text = `{ "users": [{ "email": "a@example.com", "displayName": "A", "displayName": "B" }] }`;
    expect(problems(text)[0]).toMatch(/^w\.yaml:1:\d+: .*unique/i);
    expect(() => parseWorld(`{ "users": [], "users": [] }`)).toThrow(AppError);
  });

  it("reports a JSON file's problems with their positions", () => {
    expect(problems(`{\n  "users": [{ "email": "a@example.com", "colour": "red" }]\n}`)).toEqual([`w.yaml:2:41: users[0].colour: unknown key "colour"`]);
  });

  it("finds repeated keys at any depth, escaped or not, and only keys", () => {
    expect(hasDuplicateKeys(`{"a":1,"b":{"a":2}}`)).toBe(false);
    expect(hasDuplicateKeys(`{"a":"a","b":["a","a",{"a":1}]}`)).toBe(false);
    expect(hasDuplicateKeys(`{"a":{"x":1,"y":[1,{"z":1,"z":2}]}}`)).toBe(true);
    expect(hasDuplicateKeys(`{"\\u0061":1,"a":2}`)).toBe(true);
    expect(hasDuplicateKeys(`{"a\\"":1,"a":2,"b":"\\\\"}`)).toBe(false);
    expect(hasDuplicateKeys(`[{"a":1},{"a":1}]`)).toBe(false);
  });
});
