import type { ReactNode } from "react";
import { cn } from "./cn";

export interface PageHeaderProps {
  title: ReactNode;
  description?: ReactNode;
  /** Buttons aligned to the right of the title. */
  actions?: ReactNode;
  /** Small line above the title, e.g. the section or a breadcrumb. */
  eyebrow?: ReactNode;
  /** Content under the description (summary counts, tabs). */
  children?: ReactNode;
  className?: string;
}

/** The page's one `<h1>`. */
export function PageHeader({ title, description, actions, eyebrow, children, className }: PageHeaderProps) {
  return (
    <header className={cn("mb-6", className)}>
      <div className="flex flex-wrap items-start justify-between gap-x-6 gap-y-3">
        <div className="min-w-0">
          {eyebrow ? <div className="mb-1 text-xs font-medium text-fg-subtle">{eyebrow}</div> : null}
          <h1 className="text-xl font-semibold tracking-tight text-fg">{title}</h1>
          {description ? <div className="mt-1 max-w-3xl text-sm text-fg-muted">{description}</div> : null}
        </div>
        {actions ? <div className="flex shrink-0 items-center gap-2">{actions}</div> : null}
      </div>
      {children ? <div className="mt-4">{children}</div> : null}
    </header>
  );
}
