import type { ReactNode } from "react";
import { EmptyState } from "@/components/ui/empty-state";
import type { IconName } from "@/components/ui/icon";
import { PageHeader } from "@/components/ui/page-header";

export interface PlannedSectionProps {
  eyebrow: string;
  title: string;
  description: ReactNode;
  icon: IconName;
  /** What the page will let an admin do, one capability per item. */
  planned: string[];
  /** What works today instead, if anything (e.g. the world-file section to edit). */
  meanwhile?: ReactNode;
}

/** A console section whose page is not built yet: says so plainly, shows no made-up data. */
export function PlannedSection({ eyebrow, title, description, icon, planned, meanwhile }: PlannedSectionProps) {
  return (
    <>
      <PageHeader eyebrow={eyebrow} title={title} description={description} />
      <EmptyState
        icon={icon}
        title="Not available in this version yet"
        description={`This version of Gatehouse has no ${title.toLowerCase()} page yet. When it does, you will be able to:`}
      >
        <ul className="list-disc space-y-1 pl-5 marker:text-fg-subtle">
          {planned.map((p) => (
            <li key={p}>{p}</li>
          ))}
        </ul>
        {meanwhile ? (
          <p className="mt-4 border-t border-border pt-3 text-xs text-fg-subtle">{meanwhile}</p>
        ) : null}
      </EmptyState>
    </>
  );
}
