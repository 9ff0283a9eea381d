"use server";

// Custom-role edits from the console, through lib/admin (authorised, validated — including the
// guard that refuses putting into a role more than its author holds — and recorded).
import { revalidatePath } from "next/cache";
import { z } from "zod";
import { createRole, deleteRole, patchRole } from "@/lib/admin/roles";
import { parse } from "@/lib/admin/validation";
import { adminAction, type ActionResult } from "@/lib/console/admin";
import { ZRef } from "@/lib/console/identity";

const ZParent = z.string().regex(/^(organizations|projects)\/[^/]+$/, "choose where the role lives");

export async function createRoleAction(parent: unknown, input: unknown): Promise<ActionResult<{ name: string }>> {
  const r = await adminAction(async (ctx) => ({ name: (await createRole(ctx, parse(ZParent, parent), input)).role.name }));
  if (r.ok) revalidatePath("/roles", "layout");
  return r;
}

/** Replaces title, description, stage and permissions, at the etag the form was read with (a concurrent edit is refused). */
export async function updateRoleAction(name: unknown, input: unknown): Promise<ActionResult> {
  const r = await adminAction(async (ctx) => void (await patchRole(ctx, parse(ZRef, name), input, "title,description,stage,includedPermissions")));
  if (r.ok) revalidatePath("/roles", "layout");
  return r;
}

export async function deleteRoleAction(name: unknown): Promise<ActionResult> {
  const r = await adminAction(async (ctx) => void (await deleteRole(ctx, parse(ZRef, name))));
  if (r.ok) revalidatePath("/roles", "layout");
  return r;
}
