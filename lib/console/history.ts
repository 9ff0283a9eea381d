// View models of the audit trail's questions about the past: the decision page
// (/audit/decisions/[insertId]) and "who could reach this resource at time T" (/audit/access-at).
// They call the same lib/admin functions as the API (explainDecision, accessAt), as the signed-in
// user, so the console sees exactly what that user's GET of the API would.
import { stringify } from "csv-stringify/sync";
import { accessAt, explainDecision, READ_DATA_ACCESS, type AccessAtResult, type DecisionExplanation } from "@/lib/admin/audit-history";
import { reader } from "@/lib/admin/reader";
import { passagePermission } from "@/lib/policy";
import { AppError } from "@/lib/errors";
import { consoleAdmin } from "./admin";

/** A lib/admin answer, or its refusal as the API would word it (nothing internal). */
export type Answer<T> = { ok: true; value: T } | { ok: false; code: string; message: string };

async function answer<T>(body: () => Promise<T>): Promise<Answer<T>> {
  try {
    return { ok: true, value: await body() };
  } catch (err) {
    if (err instanceof AppError) return { ok: false, code: err.code, message: err.message };
    console.error(err);
    return { ok: false, code: "INTERNAL", message: "Something went wrong on the server." };
  }
}

export async function getDecisionExplanation(insertId: string): Promise<Answer<DecisionExplanation>> {
  const { ctx } = await consoleAdmin();
  return answer(() => explainDecision(ctx, insertId));
}

export interface AccessAtForm {
  resource: string;
  /** A datetime-local value (UTC) or RFC 3339. */
  time: string;
  path?: string;
}

/** "2026-12-01T09:30" (the form's datetime-local, read as UTC) or RFC 3339, as RFC 3339. */
export function formTimeToRfc3339(t: string): string {
  return /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/.test(t) ? `${t.length === 16 ? `${t}:00` : t}Z` : t;
}

export async function getAccessAt(form: AccessAtForm): Promise<Answer<AccessAtResult>> {
  const { ctx } = await consoleAdmin();
  return answer(() => accessAt(ctx, form.resource, { time: formTimeToRfc3339(form.time), ...(form.path ? { path: form.path } : {}) }));
}

/** The resources the picker offers: those with a passage permission whose data-access logs the user may read now. */
export async function accessAtResources(): Promise<string[]> {
  const { ctx } = await consoleAdmin();
  const r = reader(ctx);
  if (!r.snapshot) return [];
  return [...r.snapshot.nodes.values()]
    .filter((n) => passagePermission(n.type) !== null && r.can(READ_DATA_ACCESS, n.name))
    .map((n) => n.name)
    .sort();
}

/** The access-at answer as CSV: one row per principal, with who gave them access. */
export function accessAtCsv(result: AccessAtResult): string {
  return stringify(
    result.principals.map((p) => ({
      principal: p.principal,
      via_groups: p.groupPath.join(" > "),
      binding_resource: p.grantedBy.resource,
      role: p.grantedBy.role,
      member: p.grantedBy.member,
      condition: p.grantedBy.condition ?? "",
      added_by: p.addedBy?.actor ?? "",
      added_at: p.addedBy?.timestamp ?? "",
      added_in_entry: p.addedBy?.insertId ?? "",
      added_at_revision: p.addedBy?.revision ?? "",
      resource: result.resource,
      permission: result.permission,
      time: result.time,
      revision: result.revision,
    })),
    // A cell a spreadsheet would run as a formula (OWASP CSV injection) is quoted as text.
    { header: true, cast: { string: (v) => (/^[=+\-@\t\r]/.test(v) ? `'${v}` : v) }, columns: ["principal", "via_groups", "binding_resource", "role", "member", "condition", "added_by", "added_at", "added_in_entry", "added_at_revision", "resource", "permission", "time", "revision"] },
  );
}
