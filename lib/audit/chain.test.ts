import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { canonicalJson } from "./chain";
import { canonicalDataAccess, hashedDataAccessFields } from "./decisions";

/** The definition: JSON.stringify with a replacer that sorts keys and renders bigint/Date as strings. */
function reference(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (typeof v === "bigint") return v.toString();
    if (v instanceof Date) return v.toISOString();
    if (v && typeof v === "object" && !Array.isArray(v)) {
      return Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    }
    return v;
  });
}

describe("canonicalJson", () => {
  it("equals the sorting-replacer definition on arbitrary values (the stored chains depend on it)", () => {
    const leaf = fc.oneof(
      fc.string({ unit: "grapheme" }),
      fc.string({ unit: "binary" }),
      fc.double(),
      fc.integer(),
      fc.boolean(),
      fc.constant(null),
      fc.constant(undefined),
      fc.bigInt(),
      fc.date({ noInvalidDate: true }),
    );
    const value = fc.letrec((tie) => ({
      node: fc.oneof({ depthSize: "small" }, leaf, fc.array(tie("node")), fc.dictionary(fc.string(), tie("node"))),
    })).node;
    fc.assert(fc.property(value, (v) => {
        if (v !== undefined) expect(canonicalJson(v)).toBe(reference(v)); // records are never undefined
      }), { numRuns: 3000, seed: 7 });
  });

  it("sorts keys at every level and keeps array order", () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: 10n }, e: new Date(0) })).toBe('{"a":{"c":"10","d":[3,{"y":2,"z":1}]},"b":1,"e":"1970-01-01T00:00:00.000Z"}');
  });
});

describe("canonicalDataAccess", () => {
  const json: fc.Arbitrary<unknown> = fc.jsonValue();
  const text = fc.option(fc.string({ unit: "grapheme" }), { nil: null });
  const record = fc.record({
    decisionId: fc.uuid(),
    timestamp: fc.date({ noInvalidDate: true }),
    principal: text,
    resourceName: fc.string(),
    permission: fc.string(),
    granted: fc.boolean(),
    reason: fc.string(),
    callerIp: text,
    host: text,
    path: text,
    method: text,
    accessLevels: fc.array(fc.string()),
    unsatisfiedLevels: fc.array(fc.string()),
    decidedBy: fc.option(json, { nil: null }),
    revision: fc.bigInt({ min: 0n, max: 2n ** 63n - 1n }),
    latencyUs: fc.nat(),
    proxyCredentialId: text,
    status: fc.option(json, { nil: null }),
  });

  it("is canonicalJson of the hashed fields, for records as written and as read back", () => {
    fc.assert(
      fc.property(record, (r) => {
        expect(canonicalDataAccess(r)).toBe(canonicalJson(hashedDataAccessFields(r)));
      }),
      { numRuns: 3000, seed: 11 },
    );
  });
});
