import type { Metadata } from "next";
import { plural, summarizeTree } from "@/components/iap/summary";
import { ResourceTree } from "@/components/iap/resource-tree";
import { Code } from "@/components/ui/code";
import { EmptyState } from "@/components/ui/empty-state";
import { PageHeader } from "@/components/ui/page-header";
import { requireSession } from "@/lib/auth/session";
import { getResourceTree } from "@/lib/console/tree";

export const metadata: Metadata = { title: "Identity-Aware Proxy" };

export default async function IapPage() {
  await requireSession();
  const roots = await getResourceTree();
  const s = summarizeTree(roots);

  const parts = [
    plural(s.projects, "project"),
    plural(s.webResources, "web resource"),
    `${s.webIapOn} with IAP on`,
  ];
  if (s.serverless > 0) parts.push(plural(s.serverless, "serverless service"));
  if (s.tunnelTargets > 0) parts.push(plural(s.tunnelTargets, "tunnel target"));

  return (
    <>
      <PageHeader
        eyebrow="Access"
        title="Identity-Aware Proxy"
        description="Resources protected by Gatehouse, organised as organization → folders → projects → resources. Who may reach each one is decided by the IAM bindings on it and on its ancestors."
      >
        {roots.length > 0 ? (
          <p className="flex flex-wrap items-center gap-x-2 text-sm text-fg-muted">
            {parts.map((p, i) => (
              <span key={p} className="flex items-center gap-2">
                {i > 0 ? (
                  <span aria-hidden="true" className="text-fg-subtle">
                    ·
                  </span>
                ) : null}
                <span className={i === 2 ? "font-medium text-success-fg" : undefined}>{p}</span>
              </span>
            ))}
          </p>
        ) : null}
      </PageHeader>

      {roots.length === 0 ? (
        <EmptyState
          icon="organization"
          title="No organizations yet"
          description="The resource hierarchy is empty. Describe your organization, folders, projects and web resources in a world file and apply it:"
        >
          <pre className="overflow-x-auto rounded-md bg-surface-2 px-3 py-2 text-left">
            <Code className="bg-transparent p-0">npm run gatehouse -- apply -f world.yaml</Code>
          </pre>
        </EmptyState>
      ) : (
        <ResourceTree roots={roots} />
      )}
    </>
  );
}
