"use server";

// Settings from the console: signing-key rotation and trusted issuers, through the same lib/admin
// functions as the admin API (authorised by the engine, validated, recorded).
import { revalidatePath } from "next/cache";
import { createTrustedIssuer, deleteTrustedIssuer, updateTrustedIssuer, type TrustedIssuerJson } from "@/lib/admin/issuers";
import { rotateSigningKeys } from "@/lib/admin/signing-keys";
import { adminAction, type ActionResult } from "@/lib/console/admin";

export async function rotateSigningKeysAction(immediate: boolean): Promise<ActionResult<{ kid: string; activatesAt: string; started: boolean }>> {
  const r = await adminAction(async (ctx) => {
    const v = await rotateSigningKeys(ctx, { immediate: immediate === true });
    return { kid: v.kid, activatesAt: v.activatesAt.toISOString(), started: v.started };
  });
  if (r.ok) revalidatePath("/settings");
  return r;
}

const list = (v: FormDataEntryValue | null) =>
  (typeof v === "string" ? v : "")
    .split(/[\n,]+/)
    .map((s) => s.trim())
    .filter(Boolean);
const text = (v: FormDataEntryValue | null) => (typeof v === "string" ? v.trim() : "");

/** Creates (no `original`) or updates (`original` = the issuer being edited) a trusted issuer. */
export async function saveIssuerAction(_prev: ActionResult<TrustedIssuerJson> | null, form: FormData): Promise<ActionResult<TrustedIssuerJson>> {
  const original = text(form.get("original"));
  const jwksUri = text(form.get("jwksUri"));
  const fields = { audiences: list(form.get("audiences")), domains: list(form.get("domains")), allowUnverifiedEmails: form.get("allowUnverifiedEmails") === "on" };
  const r = await adminAction(async (ctx) =>
    original
      ? (await updateTrustedIssuer(ctx, original, { ...fields, jwksUri: jwksUri || null })).trustedIssuer
      : (await createTrustedIssuer(ctx, { issuer: text(form.get("issuer")), ...fields, ...(jwksUri ? { jwksUri } : {}) })).trustedIssuer,
  );
  if (r.ok) revalidatePath("/settings");
  return r;
}

export async function deleteIssuerAction(issuer: string): Promise<ActionResult<null>> {
  const r = await adminAction(async (ctx) => {
    await deleteTrustedIssuer(ctx, String(issuer));
    return null;
  });
  if (r.ok) revalidatePath("/settings");
  return r;
}
