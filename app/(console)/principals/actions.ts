"use server";

// Principal edits from the console, each one lib/admin's own function (authorised by the engine,
// validated, recorded) with the signed-in user's context. Secrets (a one-time password, a key
// file) are answered to the caller once and stored nowhere in clear.
import { revalidatePath } from "next/cache";
import { z } from "zod";
import { createUser, deleteUser, updateUser } from "@/lib/admin/users";
import { createServiceAccount, createServiceAccountKey, deleteServiceAccount, deleteServiceAccountKey, updateServiceAccount } from "@/lib/admin/service-accounts";
import { parse } from "@/lib/admin/validation";
import type { ServiceAccountKeyFile } from "@/lib/identity/service-accounts";
import { adminAction, type ActionResult } from "@/lib/console/admin";
import { ZRef } from "@/lib/console/identity";

const ZBool = z.boolean();

function refreshed<T>(r: ActionResult<T>): ActionResult<T> {
  if (r.ok) revalidatePath("/principals", "layout");
  return r;
}

export async function createUserAction(input: unknown): Promise<ActionResult<{ email: string; password: string | null }>> {
  return refreshed(
    await adminAction(async (ctx) => {
      const created = await createUser(ctx, input);
      return { email: created.user.email, password: created.password ?? null };
    }),
  );
}

export async function setUserDisabledAction(email: unknown, disabled: unknown): Promise<ActionResult> {
  return refreshed(await adminAction(async (ctx) => void (await updateUser(ctx, parse(ZRef, email), { disabled: parse(ZBool, disabled) }))));
}

export async function deleteUserAction(email: unknown): Promise<ActionResult> {
  return refreshed(await adminAction(async (ctx) => void (await deleteUser(ctx, parse(ZRef, email)))));
}

export async function createServiceAccountAction(project: unknown, input: unknown): Promise<ActionResult<{ email: string }>> {
  return refreshed(
    await adminAction(async (ctx) => {
      const projectId = parse(z.string().regex(/^[a-z][a-z0-9-]{0,62}$/, "choose a project"), project);
      return { email: (await createServiceAccount(ctx, projectId, input)).serviceAccount.email };
    }),
  );
}

export async function setServiceAccountDisabledAction(email: unknown, disabled: unknown): Promise<ActionResult> {
  return refreshed(await adminAction(async (ctx) => void (await updateServiceAccount(ctx, "-", parse(ZRef, email), { disabled: parse(ZBool, disabled) }))));
}

export async function deleteServiceAccountAction(email: unknown): Promise<ActionResult> {
  return refreshed(await adminAction(async (ctx) => void (await deleteServiceAccount(ctx, "-", parse(ZRef, email)))));
}

/** The key file is the only copy of the private key: the browser downloads it, the page does not keep it. */
export async function createServiceAccountKeyAction(email: unknown): Promise<ActionResult<ServiceAccountKeyFile>> {
  return refreshed(await adminAction(async (ctx) => (await createServiceAccountKey(ctx, "-", parse(ZRef, email))).keyFile));
}

export async function deleteServiceAccountKeyAction(email: unknown, keyId: unknown): Promise<ActionResult> {
  return refreshed(await adminAction(async (ctx) => void (await deleteServiceAccountKey(ctx, "-", parse(ZRef, email), parse(ZRef, keyId)))));
}
