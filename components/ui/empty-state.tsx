import type { ReactNode } from "react";
import { cn } from "./cn";
import { Icon, type IconName } from "./icon";

export interface EmptyStateProps {
  title: ReactNode;
  description?: ReactNode;
  icon?: IconName;
  /** Buttons or links, e.g. the first action to take. */
  action?: ReactNode;
  /** Extra content under the description (a command to run, a list of what is coming). */
  children?: ReactNode;
  className?: string;
}

export function EmptyState({ title, description, icon = "inbox", action, children, className }: EmptyStateProps) {
  return (
    <div
      className={cn(
        "flex flex-col items-center rounded-lg border border-dashed border-border-strong bg-surface px-6 py-12 text-center",
        className,
      )}
    >
      <div className="mb-3 flex size-10 items-center justify-center rounded-full bg-surface-2 text-fg-subtle">
        <Icon name={icon} className="size-5" />
      </div>
      <h2 className="text-sm font-semibold text-fg">{title}</h2>
      {description ? <div className="mt-1 max-w-md text-sm text-fg-muted">{description}</div> : null}
      {children ? <div className="mt-4 w-full max-w-md text-left text-sm text-fg-muted">{children}</div> : null}
      {action ? <div className="mt-5 flex items-center gap-2">{action}</div> : null}
    </div>
  );
}
