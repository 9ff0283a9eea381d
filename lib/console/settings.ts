// The Settings page's view model: Gatehouse's signing keys, trusted issuers and the OAuth clients
// of IAP resources, each read through lib/admin (which authorises), with what the viewer may
// change. A section the viewer may not read is null (the page says so) rather than an error.
import type { AdminContext } from "@/lib/admin/context";
import { listResources } from "@/lib/admin/hierarchy";
import { listTrustedIssuers, type TrustedIssuerJson } from "@/lib/admin/issuers";
import { MAX_PAGE_SIZE } from "@/lib/admin/paging";
import { listSigningKeys, type SigningKeyJson } from "@/lib/admin/signing-keys";
import { AppError } from "@/lib/errors";
import { mayInstance } from "./proxies";

export interface OauthClientRow {
  resource: string;
  displayName: string;
  clientId: string;
  iapEnabled: boolean | null;
}

export interface SettingsView {
  signingKeys: Omit<SigningKeyJson, "publicJwk">[] | null;
  canRotate: boolean;
  issuers: TrustedIssuerJson[] | null;
  canCreateIssuer: boolean;
  canUpdateIssuer: boolean;
  canDeleteIssuer: boolean;
  /** Resources the viewer may see that have an OAuth client (their secrets are never shown again). */
  oauthClients: OauthClientRow[];
  oauthTruncated: boolean;
}

async function orNull<T>(read: () => Promise<T>): Promise<T | null> {
  try {
    return await read();
  } catch (e) {
    if (e instanceof AppError && e.code === "PERMISSION_DENIED") return null;
    throw e;
  }
}

/** OAuth clients listed at most (pages of resources read to find them). */
const OAUTH_LIMIT = 1000;

export async function getSettingsView(ctx: AdminContext): Promise<SettingsView> {
  const [keys, issuers] = await Promise.all([
    orNull(() => listSigningKeys(ctx, { pageSize: MAX_PAGE_SIZE })),
    orNull(() => listTrustedIssuers(ctx, { pageSize: MAX_PAGE_SIZE })),
  ]);
  const oauthClients: OauthClientRow[] = [];
  let pageToken: string | undefined;
  do {
    const page = await listResources(ctx, { pageSize: MAX_PAGE_SIZE, ...(pageToken ? { pageToken } : {}) });
    for (const r of page.resources) if (r.oauthClientId) oauthClients.push({ resource: r.name, displayName: r.displayName, clientId: r.oauthClientId, iapEnabled: r.iapEnabled });
    pageToken = page.nextPageToken;
  } while (pageToken && oauthClients.length < OAUTH_LIMIT);
  return {
    signingKeys: keys ? keys.signingKeys.map(({ publicJwk: _jwk, ...k }) => k) : null,
    canRotate: keys !== null && mayInstance(ctx, "gatehouse.signingKeys.rotate"),
    issuers: issuers?.trustedIssuers ?? null,
    canCreateIssuer: issuers !== null && mayInstance(ctx, "gatehouse.trustedIssuers.create"),
    canUpdateIssuer: issuers !== null && mayInstance(ctx, "gatehouse.trustedIssuers.update"),
    canDeleteIssuer: issuers !== null && mayInstance(ctx, "gatehouse.trustedIssuers.delete"),
    oauthClients: oauthClients.slice(0, OAUTH_LIMIT),
    oauthTruncated: Boolean(pageToken),
  };
}
