// Shared by the identity sections' view models and actions (groups, principals, roles, access
// levels): reading as the signed-in user through lib/admin (which authorises), and what the viewer
// may inspect of the engine's grants (lib/console/grants.ts).
import { z } from "zod";
import { consoleAdmin } from "@/lib/console/admin";
import type { AdminContext } from "@/lib/admin/context";
import { policyPermission } from "@/lib/admin/permissions";
import { reader, type Reader } from "@/lib/admin/reader";
import { AppError, type ErrorCode } from "@/lib/errors";

/** A read the viewer may be refused: the page shows the refusal instead of the data. */
export type Readable<T> = { ok: true; value: T } | { ok: false; code: ErrorCode; message: string };

/** The viewer's AdminContext and its reader on the engine's current snapshot. */
export async function viewer(): Promise<{ ctx: AdminContext; r: Reader; principal: string }> {
  const { ctx, session } = await consoleAdmin();
  return { ctx, r: reader(ctx), principal: session.principal };
}

/** Runs a lib/admin read; a refusal or a missing item becomes a value the page renders. */
export async function readable<T>(body: () => Promise<T>): Promise<Readable<T>> {
  try {
    return { ok: true, value: await body() };
  } catch (e) {
    if (e instanceof AppError && e.status < 500) return { ok: false, code: e.code, message: e.message };
    throw e;
  }
}

/** Whether a lib/admin authorisation check passes (for showing or hiding edit controls). */
export async function allowed(check: () => unknown): Promise<boolean> {
  try {
    await check();
    return true;
  } catch (e) {
    if (e instanceof AppError && e.code === "PERMISSION_DENIED") return false;
    throw e;
  }
}

/** Whether the viewer may read `resource`'s policy: only such resources' bindings are shown. */
export function canSeePolicy(r: Reader, resource: string): boolean {
  const p = policyPermission(resource, "getIamPolicy");
  return p !== null && r.can(p, resource);
}

/** A name or email an action receives (forged input is refused as INVALID_ARGUMENT, not a crash). */
export const ZRef = z.string().trim().min(1, "required").max(512);
