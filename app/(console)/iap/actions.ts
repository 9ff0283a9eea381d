"use server";

// The IAP panel's server actions: thin calls into lib/admin (IAP on/off) and lib/console/iap-edit
// (read-modify-writes through getIamPolicy/setIamPolicy). Each re-checks the session and is
// authorised by the engine inside lib/admin, so a direct POST by someone without the permission is
// refused like an API call; Next.js checks the Origin of every action (CSRF).
import { z } from "zod";
import { disableIap, enableIap } from "@/lib/admin/hierarchy";
import { parse } from "@/lib/admin/validation";
import { adminAction, type ActionResult } from "@/lib/console/admin";
import { addPrincipals, checkCondition, removePrincipal, searchPrincipals, type ConditionCheck, type EditResult, type PrincipalSuggestion } from "@/lib/console/iap-edit";

export interface IapToggleResult {
  iapEnabled: boolean;
  /** Only when this call created the resource's OAuth client: its secret is shown once. */
  oauthClient?: { clientId: string; clientSecret: string };
}

const ZSetIap = z.strictObject({ resource: z.string().min(1).max(1024), on: z.boolean() });

export async function setIapAction(resource: unknown, on: unknown): Promise<ActionResult<IapToggleResult>> {
  return adminAction(async (ctx) => {
    const req = parse(ZSetIap, { resource, on });
    const r = req.on ? await enableIap(ctx, req.resource) : await disableIap(ctx, req.resource);
    return { iapEnabled: r.resource.iapEnabled === true, ...(r.oauthClient ? { oauthClient: r.oauthClient } : {}) };
  });
}

export async function addPrincipalsAction(input: unknown): Promise<ActionResult<EditResult>> {
  return adminAction((ctx) => addPrincipals(ctx, input));
}

export async function removePrincipalAction(input: unknown): Promise<ActionResult<EditResult>> {
  return adminAction((ctx) => removePrincipal(ctx, input));
}

export async function searchPrincipalsAction(resource: unknown, query: unknown): Promise<ActionResult<PrincipalSuggestion[]>> {
  return adminAction(async (ctx) => searchPrincipals(ctx, { resource, query }));
}

/** Live validation of a condition by the core's compiler (signed-in console users only). */
export async function checkConditionAction(expression: unknown): Promise<ActionResult<ConditionCheck>> {
  return adminAction(async () => checkCondition(expression));
}
