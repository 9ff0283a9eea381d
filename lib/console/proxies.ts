// The Proxies page's view model: proxy credentials through lib/admin (listProxyKeys authorises
// gatehouse.proxyKeys.list instance-wide), and whether the viewer may create or revoke them, so
// read-only viewers see no edit controls (the actions are refused by lib/admin regardless).
import { listProxyKeys, type ProxyKey } from "@/lib/admin/proxy-keys";
import { reader } from "@/lib/admin/reader";
import type { AdminContext } from "@/lib/admin/context";
import { AppError } from "@/lib/errors";
import { MAX_PAGE_SIZE } from "@/lib/admin/paging";

export interface ProxiesView {
  /** Null: the viewer may not list proxy credentials. */
  keys: ProxyKey[] | null;
  /** More credentials than one page shows. */
  truncated: boolean;
  canCreate: boolean;
  canRevoke: boolean;
}

export function mayInstance(ctx: AdminContext, permission: string): boolean {
  try {
    reader(ctx).requireInstance(permission);
    return true;
  } catch {
    return false;
  }
}

export async function getProxiesView(ctx: AdminContext): Promise<ProxiesView> {
  let keys: ProxyKey[] | null = null;
  let truncated = false;
  try {
    const page = await listProxyKeys(ctx, { pageSize: MAX_PAGE_SIZE });
    keys = page.proxyKeys;
    truncated = Boolean(page.nextPageToken);
  } catch (e) {
    if (!(e instanceof AppError && e.code === "PERMISSION_DENIED")) throw e;
  }
  return { keys, truncated, canCreate: keys !== null && mayInstance(ctx, "gatehouse.proxyKeys.create"), canRevoke: keys !== null && mayInstance(ctx, "gatehouse.proxyKeys.delete") };
}
