import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { canonicalJson } from "./chain";
import { canonicalDataAccess, type DataAccessRecord, type StoredDataAccess } from "./decisions";

describe("canonicalJson", () => {
  it("sorts keys at every level, keeps array order, renders bigint and Date as strings", () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: 10n }, e: new Date(0) })).toBe('{"a":{"c":"10","d":[3,{"y":2,"z":1}]},"b":1,"e":"1970-01-01T00:00:00.000Z"}');
  });
});

/**
 * The definition of the data-access hash input: canonicalJson of every field but the hashes,
 * `whatIfTime`, `regionCode` and `destination` only when set (records written before those columns hash without them).
 */
function definition(r: DataAccessRecord | StoredDataAccess): string {
  const { decidedBy, status, whatIfTime, regionCode, destination, ...rest } = r;
  return canonicalJson({ ...rest, decidedBy: decidedBy ?? null, status: status ?? null, ...(whatIfTime ? { whatIfTime } : {}), ...(regionCode ? { regionCode } : {}), ...(destination ? { destination } : {}) });
}

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
    whatIfTime: fc.option(fc.date({ noInvalidDate: true }), { nil: null }),
    regionCode: fc.option(fc.stringMatching(/^[A-Z]{2}$/), { nil: null }),
    destination: fc.option(fc.record({ ip: fc.ipV4(), port: fc.nat({ max: 65535 }) }, { requiredKeys: [] }), { nil: null }),
  });

  it("equals the canonicalJson definition, for records as written and as read back (stored chains depend on it)", () => {
    fc.assert(
      fc.property(record, (r) => {
        expect(canonicalDataAccess(r)).toBe(definition(r));
      }),
      { numRuns: 3000, seed: 11 },
    );
  });
});
