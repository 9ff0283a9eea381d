"use server";

// Access-level edits from the console, through lib/admin (authorised instance-wide, validated by
// the core — CIDRs, regions, members, CEL — and recorded).
import { revalidatePath } from "next/cache";
import { z } from "zod";
import { createAccessLevel, deleteAccessLevel, patchAccessLevel } from "@/lib/admin/access-levels";
import { parse } from "@/lib/admin/validation";
import { adminAction, type ActionResult } from "@/lib/console/admin";
import { ZRef } from "@/lib/console/identity";

const ZNamed = z.object({ name: z.string().regex(/^accessPolicies\/([a-zA-Z0-9_-]{1,64})\/accessLevels\/[a-zA-Z0-9_]{1,50}$/, "access levels are named accessPolicies/{policy}/accessLevels/{name}: the level id is 1–50 letters, digits or underscores") }).loose();

export async function createAccessLevelAction(input: unknown): Promise<ActionResult> {
  const r = await adminAction(async (ctx) => void (await createAccessLevel(ctx, parse(ZNamed, input).name.split("/")[1]!, input)));
  if (r.ok) revalidatePath("/access-levels");
  return r;
}

/** Replaces the level's title, description and definition (basic or custom, whichever the input has). */
export async function updateAccessLevelAction(name: unknown, input: unknown): Promise<ActionResult> {
  const kind = input && typeof input === "object" && "custom" in input ? "custom" : "basic";
  const r = await adminAction(async (ctx) => void (await patchAccessLevel(ctx, parse(ZRef, name), input, `title,description,${kind}`)));
  if (r.ok) revalidatePath("/access-levels");
  return r;
}

export async function deleteAccessLevelAction(name: unknown): Promise<ActionResult> {
  const r = await adminAction(async (ctx) => void (await deleteAccessLevel(ctx, parse(ZRef, name))));
  if (r.ok) revalidatePath("/access-levels");
  return r;
}
