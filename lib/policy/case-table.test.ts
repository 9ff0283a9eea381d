import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import path from "node:path";
import { parseCaseTable, checkInputOf, compareDecision } from "./case-table";
import { compile } from "./compile";
import { evaluate } from "./evaluate";
import { referenceEvaluate } from "./reference";

const worlds = parseCaseTable(readFileSync(path.join(import.meta.dirname, "cases", "cases.yaml"), "utf8"));
const total = worlds.reduce((n, w) => n + w.cases.length, 0);

describe("decision case table", () => {
  it("has at least 400 assertions", () => {
    expect(total).toBeGreaterThanOrEqual(400);
  });
  for (const w of worlds) {
    describe(w.name, () => {
      const snapshot = compile(w.data, 7);
      it(`core: ${w.cases.length} cases`, () => {
        const failures: string[] = [];
        for (const c of w.cases) {
          const d = evaluate(snapshot, checkInputOf(c));
          expect(d.revision).toBe("7");
          const diff = compareDecision(d, c.expect);
          if (diff.length > 0) failures.push(`${c.name}: ${diff.join("; ")}`);
          if (c.input.explain) {
            expect(d.trace).toBeDefined();
            if (d.allowed) expect(d.trace?.some((t) => t.kind === "binding" && t.result === "GRANTED")).toBe(true);
          }
        }
        expect(failures).toEqual([]);
      });
      it(`reference: ${w.cases.length} cases`, () => {
        const failures: string[] = [];
        for (const c of w.cases) {
          const d = referenceEvaluate(w.data, checkInputOf(c), "7");
          const diff = compareDecision(d, c.expect);
          if (diff.length > 0) failures.push(`${c.name}: ${diff.join("; ")}`);
        }
        expect(failures).toEqual([]);
      });
      it("explain does not change decisions", () => {
        for (const c of w.cases) {
          const a = evaluate(snapshot, { ...checkInputOf(c), explain: false });
          const b = evaluate(snapshot, { ...checkInputOf(c), explain: true });
          const { trace: _t, ...bb } = b;
          expect(bb).toEqual(a);
        }
      });
    });
  }
});
