// zod at the admin API's boundary: one way to turn a schema's issues into INVALID_ARGUMENT with
// every issue by path (each shows next to its field in the console).
import type { z } from "zod";
import { AppError } from "@/lib/errors";
import type { ValidationIssue } from "@/lib/policy";

/** zod at the boundary: every issue by path, as INVALID_ARGUMENT. */
export function parse<T>(schema: z.ZodType<T>, input: unknown): T {
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  const details = r.error.issues.map((i) => ({ path: i.path.join("."), message: i.message }));
  const first = details[0]!;
  throw new AppError("INVALID_ARGUMENT", `${first.path ? `${first.path}: ` : ""}${first.message}`, details);
}

/** The core's write-side validation (lib/policy validate*) in the same shape. */
/** Throws INVALID_ARGUMENT with every issue (paths under `prefix`) when there are any. */
export function throwIssues(issues: readonly ValidationIssue[], prefix = ""): void {
  if (issues.length === 0) return;
  const details = issues.map((i) => ({ path: [prefix, i.path].filter(Boolean).join("."), message: i.message }));
  const first = details[0]!;
  throw new AppError("INVALID_ARGUMENT", `${first.path ? `${first.path}: ` : ""}${first.message}`, details);
}

/** INVALID_ARGUMENT for one field. */
export function invalid(path: string, message: string): AppError {
  return new AppError("INVALID_ARGUMENT", `${path}: ${message}`, [{ path, message }]);
}
