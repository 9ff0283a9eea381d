// One resource's IAM policy as a file, in the shape `gcloud … get-iam-policy --format=json|yaml`
// writes and `gcloud … set-iam-policy RESOURCE FILE` reads: the Policy object itself
// ({ bindings, etag, version }), keys sorted at every level, empty fields left out. Used by the
// CLI's `policy get` / `policy set` around getIamPolicy / setIamPolicy (policies.ts); pure.
import { isMap, LineCounter, parseDocument } from "yaml";
import { stringify } from "yaml";
import { AppError } from "@/lib/errors";
import type { BindingDelta } from "@/lib/audit/admin";
import type { IamPolicy } from "./policies";

export type PolicyFileFormat = "json" | "yaml";

/** YAML for FILE.yaml / FILE.yml, JSON otherwise (and on standard output). */
export function policyFileFormat(fileName: string | undefined): PolicyFileFormat {
  return fileName && /\.ya?ml$/i.test(fileName) ? "yaml" : "json";
}

/** Keys sorted at every level; empty lists and undefined values left out (as Google's JSON does). */
function sortedDeep(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortedDeep);
  if (value && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined && !(Array.isArray(v) && v.length === 0))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return Object.fromEntries(entries.map(([k, v]) => [k, sortedDeep(v)]));
  }
  return value;
}

/** The policy as gcloud prints it: JSON with two-space indents, or block YAML with unindented lists. */
export function formatPolicyFile(policy: IamPolicy, format: PolicyFileFormat): string {
  const data = sortedDeep(policy);
  return format === "json" ? JSON.stringify(data, null, 2) + "\n" : stringify(data, { indentSeq: false, lineWidth: 0 });
}

/**
 * The policy object of a file (YAML or JSON: JSON is YAML), for setIamPolicy to validate. Syntax
 * errors and repeated keys are refused with their position; the content is setIamPolicy's to judge.
 */
export function parsePolicyFile(text: string, fileName: string): Record<string, unknown> {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length) {
    throw new AppError(
      "INVALID_ARGUMENT",
      `${fileName} is not valid YAML/JSON`,
      doc.errors.map((e) => {
        const { line, col } = lineCounter.linePos(e.pos[0]);
        return { path: `${fileName}:${line}:${col}`, message: e.message.split("\n")[0] ?? e.message };
      }),
    );
  }
  if (!isMap(doc.contents)) throw new AppError("INVALID_ARGUMENT", `${fileName} must hold one policy: { bindings, etag, version } as getIamPolicy returns it`);
  return doc.toJS() as Record<string, unknown>;
}

/** One line per binding delta: `+ ROLE MEMBER` / `- ROLE MEMBER`, with ` if "CONDITION TITLE"`. */
export function describeDeltas(deltas: readonly BindingDelta[]): string[] {
  return deltas.map((d) => `${d.action === "ADD" ? "+" : "-"} ${d.role} ${d.member}${d.condition ? ` if "${d.condition.title}"` : ""}`);
}
