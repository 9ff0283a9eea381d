"use server";

// Proxy credentials from the console: the same lib/admin functions as the admin API (they
// authorise with the engine, validate and record). A direct POST by someone without
// gatehouse.proxyKeys.* is refused there.
import { revalidatePath } from "next/cache";
import { createProxyKey, revokeProxyKey, type ProxyKey } from "@/lib/admin/proxy-keys";
import { adminAction, type ActionResult } from "@/lib/console/admin";

/** Form fields → the API's body: scopes one per line (or comma-separated), trusted a checkbox. */
function createInput(form: FormData) {
  const text = (k: string) => (typeof form.get(k) === "string" ? (form.get(k) as string).trim() : "");
  const scopes = text("scopes")
    .split(/[\n,]+/)
    .map((s) => s.trim())
    .filter(Boolean);
  return { name: text("name"), trusted: form.get("trusted") === "on", scopes, ...(text("regionHeader") ? { regionHeader: text("regionHeader") } : {}) };
}

export async function createProxyKeyAction(_prev: ActionResult<{ key: ProxyKey; secret: string }> | null, form: FormData): Promise<ActionResult<{ key: ProxyKey; secret: string }>> {
  const r = await adminAction(async (ctx) => {
    const { key, secret } = await createProxyKey(ctx, createInput(form));
    return { key, secret };
  });
  if (r.ok) revalidatePath("/proxies");
  return r;
}

export async function revokeProxyKeyAction(name: string): Promise<ActionResult<ProxyKey>> {
  const r = await adminAction(async (ctx) => (await revokeProxyKey(ctx, String(name))).key);
  if (r.ok) revalidatePath("/proxies");
  return r;
}
