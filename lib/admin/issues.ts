// The core's write-side validation (lib/policy validate*) at the admin API's boundary: every issue
// by path, as INVALID_ARGUMENT — the same shape zod's issues take in validation.ts `parse`.
import { AppError } from "@/lib/errors";
import type { ValidationIssue } from "@/lib/policy";

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
