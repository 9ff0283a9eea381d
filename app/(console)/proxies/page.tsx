import type { Metadata } from "next";
import { ProxyKeys } from "@/components/proxies/proxy-keys";
import { Alert, PageHeader } from "@/components/ui";
import { consoleAdmin } from "@/lib/console/admin";
import { getProxiesView } from "@/lib/console/proxies";

export const metadata: Metadata = { title: "Proxies" };

export default async function ProxiesPage() {
  const { ctx } = await consoleAdmin();
  const view = await getProxiesView(ctx);
  return (
    <>
      <PageHeader
        eyebrow="Admin"
        title="Proxies"
        description="Credentials of the reverse proxies that ask Gatehouse for decisions. A secret is shown once, when it is created, and stored only as a hash."
      />
      {view.keys === null ? (
        <Alert tone="info" live={false} title="You may not view proxy credentials">
          Listing them needs gatehouse.proxyKeys.list on every organization (Viewer, Editor or Owner there).
        </Alert>
      ) : (
        <>
          <ProxyKeys keys={view.keys} canCreate={view.canCreate} canRevoke={view.canRevoke} />
          {view.truncated ? <p className="mt-3 text-sm text-fg-muted">Only the first 1,000 credentials are shown.</p> : null}
        </>
      )}
    </>
  );
}
