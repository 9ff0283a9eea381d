/**
 * Runs official CEL conformance cases (@bufbuild/cel-spec) that bear on IAM conditions against
 * the library the core uses (@bufbuild/cel), through the same parse/plan path. Cases that need
 * bindings, type environments, containers or non-scalar results are skipped.
 */
import { describe, expect, it } from "vitest";
import { tests } from "@bufbuild/cel-spec/testdata/conformance.js";
import { parse, plan, celEnv, isCelError } from "@bufbuild/cel";
import { CEL_ENV } from "./cel";

interface T {
  original: { name: string; expr: string; value?: Record<string, unknown>; evalError?: unknown; bindings?: unknown; typeEnv?: unknown; container?: string; checkOnly?: boolean };
}
interface S {
  name: string;
  suites?: S[];
  tests?: T[];
}
const SUITES = ["basic", "comparisons", "logic", "string", "timestamps", "lists", "macros", "conversions", "integer_math", "fp_math"];
type Exp = { kind: "err" } | { kind: "val"; v: unknown };

function expected(t: T): Exp | null {
  const o = t.original;
  if (o.bindings || o.typeEnv || o.container || o.checkOnly) return null;
  if (o.evalError) return { kind: "err" };
  const v = o.value;
  if (!v) return null;
  if ("boolValue" in v) return { kind: "val", v: v.boolValue };
  if ("int64Value" in v) return { kind: "val", v: BigInt(v.int64Value as string) };
  if ("stringValue" in v) return { kind: "val", v: v.stringValue };
  if ("doubleValue" in v) return { kind: "val", v: Number(v.doubleValue) };
  return null;
}

// The environment the core uses (with its own time accessors), and the library's default one.
const envs = { core: CEL_ENV, library: celEnv() };
const root = tests as unknown as S;
const cases: Array<{ suite: string; name: string; expr: string; exp: Exp }> = [];
for (const s of root.suites ?? []) {
  if (!SUITES.includes(s.name)) continue;
  for (const ss of s.suites ?? []) {
    for (const t of ss.tests ?? []) {
      const exp = expected(t);
      if (exp) cases.push({ suite: `${s.name}/${ss.name}`, name: t.original.name, expr: t.original.expr, exp });
    }
  }
}

describe("CEL conformance (@bufbuild/cel-spec) on the chosen library", () => {
  it.each(Object.entries(envs))(`%s environment passes the scalar-result conformance cases`, (_name, env) => {
    expect(cases.length).toBeGreaterThan(700);
    const failures: string[] = [];
    const bySuite = new Map<string, number>();
    for (const c of cases) {
      let got: Exp;
      try {
        const r = plan(env, parse(c.expr))({});
        got = isCelError(r) ? { kind: "err" } : { kind: "val", v: r };
      } catch {
        got = { kind: "err" };
      }
      const ok =
        got.kind === c.exp.kind &&
        (c.exp.kind === "err" || (got.kind === "val" && (got.v === c.exp.v || (Number.isNaN(got.v) && Number.isNaN(c.exp.v)))));
      if (!ok) failures.push(`${c.suite}/${c.name}: ${c.expr}`);
      bySuite.set(c.suite, (bySuite.get(c.suite) ?? 0) + 1);
    }
    // Every timestamp case (time zones, fixed offsets, DST) and every string case must pass.
    expect(failures.filter((f) => f.startsWith("timestamps/") || f.startsWith("string/") || f.startsWith("logic/"))).toEqual([]);
    expect(failures.length / cases.length).toBeLessThan(0.02);
  });
});

describe("re-declared overloads (comparisons, duration accessors) behave as the library's", () => {
  const OPERANDS = ["true", "false", "1", "-1", "2", "1u", "3u", "1.0", "1.5", "-0.5", "double('NaN')", "'a'", "'b'", "''", "b'a'", "b'ab'", "duration('1s')", "duration('1.5s')", "duration('-2s')", "timestamp('2024-01-01T00:00:00Z')", "timestamp('2024-01-01T00:00:00.5Z')", "timestamp('1999-12-31T23:59:59Z')", "null", "[1]", "{'a': 1}"];
  const run = (env: typeof CEL_ENV, expr: string): string => {
    try {
      const r = plan(env, parse(expr))({});
      return isCelError(r) ? "error" : String(r);
    } catch {
      return "error";
    }
  };
  it("every ordering operator on every pair of operand types", () => {
    const library = celEnv();
    let n = 0;
    for (const op of ["<", "<=", ">", ">="]) {
      for (const a of OPERANDS) {
        for (const b of OPERANDS) {
          const expr = `${a} ${op} ${b}`;
          expect(run(CEL_ENV, expr), expr).toBe(run(library, expr));
          n++;
        }
      }
    }
    expect(n).toBe(4 * OPERANDS.length ** 2);
  });
  it("duration accessors", () => {
    const library = celEnv();
    for (const d of ["0s", "3725.5s", "-3725.5s", "86400s", "0.001s"]) {
      for (const m of ["getHours", "getMinutes", "getSeconds", "getMilliseconds"]) {
        const expr = `duration('${d}').${m}()`;
        expect(run(CEL_ENV, expr), expr).toBe(run(library, expr));
      }
    }
  });
});
