/**
 * Differential testing: the indexed core and the naive reference evaluator agree on random
 * worlds. 100,000 checks per run by default, seeded; POLICY_DIFF_CHECKS and POLICY_DIFF_SEED
 * change the volume and the seed (the failing seed and path are printed by fast-check).
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { compile } from "./compile";
import { evaluate } from "./evaluate";
import { referenceEvaluate } from "./reference";
import { worldArb, checkArb } from "./testing/arbitraries";
import type { CheckInput, Decision } from "./types";

const CHECKS = Number(process.env.POLICY_DIFF_CHECKS ?? 100_000);
const SEED = Number(process.env.POLICY_DIFF_SEED ?? 20241122);
const PER_WORLD = 400;
const WORLDS = Math.max(1, Math.ceil(CHECKS / PER_WORLD));

function strip(d: Decision): Omit<Decision, "trace"> {
  const { trace: _t, ...rest } = d;
  return rest;
}

/** JSON with sorted keys, so that field order does not matter. */
export function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, val: unknown) =>
    val && typeof val === "object" && !Array.isArray(val) ? Object.fromEntries(Object.entries(val as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : val,
  );
}

function describeCheck(c: CheckInput): string {
  return JSON.stringify({ ...c, request: { ...c.request, time: c.request.time.toISOString() } });
}

describe("core vs reference (differential)", () => {
  it(`agree on ${WORLDS * PER_WORLD} random checks over ${WORLDS} random worlds (seed ${SEED})`, { timeout: 600_000 }, () => {
    let checked = 0;
    let allowed = 0;
    const reasons = new Map<string, number>();
    fc.assert(
      fc.property(
        worldArb.chain((w) => fc.tuple(fc.constant(w), fc.array(checkArb(w.resources), { minLength: PER_WORLD, maxLength: PER_WORLD }))),
        ([w, checks]) => {
          const snap = compile(w.data, 1);
          checks.forEach((c, i) => {
            const core = evaluate(snap, i % 97 === 0 ? { ...c, explain: true } : c);
            const ref = referenceEvaluate(w.data, c, "1");
            checked++;
            if (core.allowed) allowed++;
            reasons.set(core.reason, (reasons.get(core.reason) ?? 0) + 1);
            const a = strip(core);
            const b = strip(ref);
            if (canonical(a) !== canonical(b)) {
              throw new Error(`mismatch for ${describeCheck(c)}\ncore: ${JSON.stringify(a)}\nref:  ${JSON.stringify(b)}`);
            }
          });
        },
      ),
      { seed: SEED, numRuns: WORLDS, endOnFailure: true },
    );
    expect(checked).toBe(WORLDS * PER_WORLD);
    console.log(`differential: ${checked} checks, ${allowed} allowed, reasons ${JSON.stringify(Object.fromEntries(reasons))}`);
    // The generator must exercise every outcome, or agreement would prove little.
    for (const r of ["GRANTED", "NO_MATCHING_BINDING", "CONDITION_NOT_MET", "DENIED_BY_POLICY", "IAP_DISABLED", "UNAUTHENTICATED", "UNKNOWN_RESOURCE", "PRINCIPAL_DISABLED"]) {
      expect(reasons.get(r) ?? 0, `reason ${r} never produced`).toBeGreaterThan(checked / 1000);
    }
    expect(allowed).toBeGreaterThan(checked / 20);
  });
});
