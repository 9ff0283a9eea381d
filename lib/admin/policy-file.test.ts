// Policy files in gcloud's shape: format by extension, sorted keys, no empty lists, YAML with
// unindented lists, positions for syntax errors and repeated keys.
import { describe, expect, it } from "vitest";
import { AppError } from "@/lib/errors";
import { describeDeltas, formatPolicyFile, parsePolicyFile, policyFileFormat } from "./policy-file";

const POLICY = {
  version: 3,
  etag: "BwWWja0YfJA=",
  bindings: [
    { role: "roles/viewer", members: ["user:a@example.com"] },
    { role: "roles/iap.httpsResourceAccessor", members: ["group:eng@example.com"], condition: { title: "Not admin", expression: "!request.path.startsWith('/admin')" } },
  ],
};

describe("policy files", () => {
  it("take their format from the extension: YAML for .yaml/.yml, JSON otherwise", () => {
    expect([policyFileFormat("p.yaml"), policyFileFormat("P.YML"), policyFileFormat("p.json"), policyFileFormat("p"), policyFileFormat(undefined)]).toEqual(["yaml", "yaml", "json", "json", "json"]);
  });

  it("are written as gcloud writes them and read back as the same policy", () => {
    const json = formatPolicyFile(POLICY, "json");
    expect(json).toBe(
      `{\n  "bindings": [\n    {\n      "members": [\n        "user:a@example.com"\n      ],\n      "role": "roles/viewer"\n    },\n` +
        `    {\n      "condition": {\n        "expression": "!request.path.startsWith('/admin')",\n        "title": "Not admin"\n      },\n` +
        `      "members": [\n        "group:eng@example.com"\n      ],\n      "role": "roles/iap.httpsResourceAccessor"\n    }\n  ],\n  "etag": "BwWWja0YfJA=",\n  "version": 3\n}\n`,
    );
    const yaml = formatPolicyFile(POLICY, "yaml");
    expect(yaml).toBe(
      "bindings:\n- members:\n  - user:a@example.com\n  role: roles/viewer\n- condition:\n    expression: \"!request.path.startsWith('/admin')\"\n" +
        "    title: Not admin\n  members:\n  - group:eng@example.com\n  role: roles/iap.httpsResourceAccessor\netag: BwWWja0YfJA=\nversion: 3\n",
    );
    expect(parsePolicyFile(json, "p.json")).toEqual(POLICY);
    expect(parsePolicyFile(yaml, "p.yaml")).toEqual(POLICY);
  });

  it("leave out an empty bindings list, as Google's JSON does", () => {
    expect(formatPolicyFile({ version: 1, etag: "ACAB", bindings: [] }, "yaml")).toBe("etag: ACAB\nversion: 1\n");
  });

  it("refuse syntax errors, repeated keys and non-objects with their position", () => {
    const err = (text: string) => {
      try {
        parsePolicyFile(text, "p.yaml");
      } catch (e) {
        expect(e).toBeInstanceOf(AppError);
        return [(e as AppError).message, ...(e as AppError).details.map((d) => `${d.path}: ${d.message}`)];
      }
      return [];
    };
    expect(err("etag: a\netag: b\n")[1]).toMatch(/^p\.yaml:2:1: .*unique/i);
    expect(err(`{"bindings": [}`)[1]).toMatch(/^p\.yaml:1:\d+: /);
    expect(err("- a\n- b\n")[0]).toMatch(/must hold one policy/);
  });

  it("describe deltas one per line", () => {
    expect(
      describeDeltas([
        { action: "ADD", role: "roles/viewer", member: "user:a@example.com" },
        { action: "REMOVE", role: "roles/viewer", member: "group:g@example.com", condition: { title: "T", expression: "true" } },
      ]),
    ).toEqual(["+ roles/viewer user:a@example.com", '- roles/viewer group:g@example.com if "T"']);
  });
});
