import type { TreeNode } from "@/lib/console/tree";
import type { IapPanelView } from "@/lib/console/iap-view";
import { EmptyState } from "@/components/ui/empty-state";
import { PageHeader } from "@/components/ui/page-header";
import { IapWorkspace } from "./workspace";
import { plural, summarizeTree } from "./summary";

/** The IAP page body: header with the hierarchy's counts, then the resource tree with the info panel of the selection (or how to fill the tree). */
export function IapPanel({ roots, selected, panel }: { roots: TreeNode[]; selected: string[]; panel: IapPanelView | null }) {
  const s = summarizeTree(roots);
  const parts: { text: string; strong?: boolean }[] = [
    { text: plural(s.projects, "project") },
    { text: plural(s.webResources, "web resource") },
    { text: `${s.webIapOn} with IAP on`, strong: true },
  ];
  if (s.serverless > 0) parts.push({ text: plural(s.serverless, "serverless service") });
  if (s.tunnelTargets > 0) parts.push({ text: plural(s.tunnelTargets, "tunnel target") });

  return (
    <>
      <PageHeader
        eyebrow="Access"
        title="Identity-Aware Proxy"
        description="Resources protected by Gatehouse, from organization to folders, projects and web resources. Who may reach each one is decided by the IAM bindings on it and on its ancestors."
      >
        {roots.length > 0 ? (
          <p className="flex flex-wrap items-center gap-x-2 text-sm text-fg-muted">
            {parts.map((p, i) => (
              <span key={p.text} className="flex items-center gap-2">
                {i > 0 ? (
                  <span aria-hidden="true" className="text-fg-subtle">
                    ·
                  </span>
                ) : null}
                <span className={p.strong ? "font-medium text-success-fg" : undefined}>{p.text}</span>
              </span>
            ))}
          </p>
        ) : null}
      </PageHeader>

      {roots.length === 0 ? (
        <EmptyState
          icon="organization"
          title="No organizations yet"
          description="The resource hierarchy is empty. Describe your organization, folders, projects and web resources in a world file, then apply it:"
        >
          <pre className="overflow-x-auto rounded-md border border-border bg-surface-2 px-3 py-2">
            <code className="font-mono text-xs text-fg">npm run gatehouse -- apply -f world.yaml</code>
          </pre>
        </EmptyState>
      ) : (
        <IapWorkspace roots={roots} selected={selected} panel={panel} />
      )}
    </>
  );
}
