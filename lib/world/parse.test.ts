// World-file validation that needs no database: host routes (path prefixes in normal form, no
// duplicate host+prefix pairs, wildcard shapes), refused with their position in the file.
import { describe, expect, it } from "vitest";
import { AppError } from "@/lib/errors";
import { parseWorld } from "./parse";
import { validateWorld } from "./validate";
import { worldCatalog } from "./catalog";

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
