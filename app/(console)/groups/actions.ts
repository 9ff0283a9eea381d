"use server";

// Group edits from the console: each one is lib/admin's own function (authorised by the engine,
// validated, recorded), called with the signed-in user's context.
import { revalidatePath } from "next/cache";
import { addGroupMember, createGroup, deleteGroup, removeGroupMember } from "@/lib/admin/groups";
import { parse } from "@/lib/admin/validation";
import { adminAction, type ActionResult } from "@/lib/console/admin";
import { ZRef } from "@/lib/console/identity";

export async function createGroupAction(input: unknown): Promise<ActionResult<{ email: string }>> {
  const r = await adminAction(async (ctx) => ({ email: (await createGroup(ctx, input)).group.email }));
  if (r.ok) revalidatePath("/groups");
  return r;
}

export async function deleteGroupAction(email: unknown): Promise<ActionResult> {
  const r = await adminAction(async (ctx) => void (await deleteGroup(ctx, parse(ZRef, email))));
  if (r.ok) revalidatePath("/groups");
  return r;
}

export async function addGroupMemberAction(email: unknown, member: unknown): Promise<ActionResult> {
  const r = await adminAction(async (ctx) => void (await addGroupMember(ctx, parse(ZRef, email), { member: parse(ZRef, member) })));
  if (r.ok) revalidatePath("/groups", "layout");
  return r;
}

export async function removeGroupMemberAction(email: unknown, member: unknown): Promise<ActionResult> {
  const r = await adminAction(async (ctx) => void (await removeGroupMember(ctx, parse(ZRef, email), parse(ZRef, member))));
  if (r.ok) revalidatePath("/groups", "layout");
  return r;
}
