// Parses a world file (YAML or JSON — JSON is YAML) and validates it, reporting every problem
// with its position in the file ("world.yaml:12:7: policies[0].bindings[1].members[0]: …").
import { isMap, isScalar, LineCounter, parseDocument, type Node as YamlNode } from "yaml";
import type { z } from "zod";
import { AppError, type ErrorDetail } from "@/lib/errors";
import { ZWorld, type World } from "./schema";

function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((acc, k) => (typeof k === "number" ? `${acc}[${k}]` : acc ? `${acc}.${String(k)}` : String(k)), "");
}

export function parseWorld(text: string, fileName = "world"): World {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number | undefined) => {
    if (offset === undefined) return fileName;
    const { line, col } = lineCounter.linePos(offset);
    return `${fileName}:${line}:${col}`;
  };
  if (doc.errors.length) {
    throw new AppError(
      "INVALID_ARGUMENT",
      `${fileName} is not valid YAML/JSON`,
      doc.errors.map((e) => ({ path: at(e.pos[0]), message: e.message.split("\n")[0] ?? e.message })),
    );
  }
  const data: unknown = doc.toJS() ?? {};
  const r = ZWorld.safeParse(data);
  if (r.success) return r.data;

  const details: ErrorDetail[] = r.error.issues.map((issue: z.core.$ZodIssue) => {
    const path = issue.path as (string | number)[];
    let node = doc.getIn(path, true) as YamlNode | undefined;
    let where = path;
    if (issue.code === "unrecognized_keys") {
      // Point at the first unknown key itself.
      const parent = doc.getIn(path, true);
      const key = issue.keys[0];
      if (isMap(parent) && key !== undefined) {
        const pair = parent.items.find((p) => isScalar(p.key) && p.key.value === key);
        if (pair && isScalar(pair.key)) node = pair.key;
        where = [...path, key];
      }
    }
    // Walk up to the nearest node that exists (a missing required key is reported at its parent).
    for (let i = path.length; !node && i > 0; i--) node = doc.getIn(path.slice(0, i - 1), true) as YamlNode | undefined;
    const message = issue.code === "unrecognized_keys" ? `unknown key${issue.keys.length > 1 ? "s" : ""} ${issue.keys.map((k) => `"${k}"`).join(", ")}` : issue.message;
    return { path: `${at(node?.range?.[0])}: ${formatPath(where) || "(top level)"}`, message };
  });
  throw new AppError("INVALID_ARGUMENT", `${fileName} has ${details.length} problem${details.length > 1 ? "s" : ""}`, details);
}
