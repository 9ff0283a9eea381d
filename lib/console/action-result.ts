// What a console server action answers, and how a form finds its field's error in it. Free of
// server-only imports, so client components (forms) can use it as well as lib/console/admin.ts.
import type { ErrorCode, ErrorDetail } from "@/lib/errors";

/**
 * What a console server action answers: the value, or the lib/admin error as the API would name
 * it (code, message, and details whose `path` names the offending field) for the form to show
 * next to the field. Unexpected errors are logged and answered as INTERNAL, never leaked.
 */
export type ActionResult<T = undefined> = { ok: true; value: T } | { ok: false; code: ErrorCode; message: string; details?: ErrorDetail[] };

/** The message of the first error detail whose path starts with `field` (for inline field errors). */
export function fieldError(r: ActionResult<unknown> | undefined, field: string): string | null {
  if (!r || r.ok) return null;
  return r.details?.find((d) => d.path === field || d.path?.startsWith(`${field}.`) || d.path?.startsWith(`${field}[`))?.message ?? null;
}
