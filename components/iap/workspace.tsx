"use client";

// The IAP page's interactive part: the resource tree and, for the selected resources, the info
// panel. The selection lives in the URL (?resource=…, repeatable) so the server renders the panel
// (and a link shares it); checking a box updates it at once and the panel follows.
import { useOptimistic, useTransition } from "react";
import { usePathname, useRouter } from "next/navigation";
import type { TreeNode } from "@/lib/console/tree";
import type { IapPanelView } from "@/lib/console/iap-view";
import { MAX_SELECTION } from "@/lib/console/iap-view";
import { Icon } from "@/components/ui/icon";
import { Spinner } from "@/components/ui/spinner";
import { InfoPanel } from "./info-panel";
import { ResourceTree } from "./resource-tree";

export function IapWorkspace({ roots, selected, panel }: { roots: TreeNode[]; selected: string[]; panel: IapPanelView | null }) {
  const router = useRouter();
  const pathname = usePathname();
  const [pending, start] = useTransition();
  const [shown, setShown] = useOptimistic(selected);

  const go = (next: string[]) =>
    start(() => {
      setShown(next);
      const qs = new URLSearchParams(next.slice(0, MAX_SELECTION).map((r) => ["resource", r]));
      router.replace(next.length ? `${pathname}?${qs}` : pathname, { scroll: false });
    });
  const reload = () => start(() => router.refresh());
  const selection = {
    selected: new Set(shown),
    onToggle: (name: string, checked: boolean) => go(checked ? [...shown.filter((n) => n !== name), name] : shown.filter((n) => n !== name)),
    onOnly: (name: string) => {
      go([name]);
      document.getElementById("info-panel")?.scrollIntoView({ block: "nearest" });
    },
    onChanged: reload,
  };
  const stale = panel !== null && shown.join("\n") !== selected.join("\n");

  return (
    <div className="grid items-start gap-4 2xl:grid-cols-[minmax(0,1fr)_minmax(28rem,36rem)]">
      <div id="info-panel" className="min-w-0 scroll-mt-16 2xl:sticky 2xl:top-16 2xl:order-last">
        {shown.length === 0 ? (
          <div className="flex items-start gap-2 rounded-lg border border-dashed border-border px-4 py-3 text-sm text-fg-muted">
            <Icon name="info" className="mt-0.5 size-4 shrink-0" />
            <p>
              Select a resource — click its name — to see who may reach it and to <strong className="text-fg">add principals</strong>: grant a
              group IAP-secured Web App User, optionally only for some paths, hosts or hours.
            </p>
          </div>
        ) : panel && !stale ? (
          <div aria-busy={pending || undefined} className={pending ? "opacity-70 transition-opacity" : undefined}>
            <InfoPanel key={selected.join("\n")} view={panel} onReload={reload} reloading={pending} />
          </div>
        ) : (
          <div className="flex items-center gap-2 rounded-lg border border-border px-4 py-6 text-sm text-fg-muted">
            <Spinner label="Loading permissions" /> Loading permissions…
          </div>
        )}
      </div>
      <div className="min-w-0 overflow-x-auto">
        <ResourceTree roots={roots} selection={selection} />
      </div>
    </div>
  );
}
