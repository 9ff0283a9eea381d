import Link from "next/link";
import { cn } from "./cn";

export interface TabItem {
  href: string;
  label: string;
  /** A count shown after the label. */
  count?: number;
}

/**
 * Sections of one page as links (each tab has its own URL, so a server component renders it and
 * the browser's history works); the current one carries aria-current="page".
 */
export function Tabs({ items, current, label }: { items: TabItem[]; current: string; label: string }) {
  return (
    <nav aria-label={label} className="border-b border-border">
      <ul className="-mb-px flex flex-wrap gap-1">
        {items.map((t) => {
          const active = t.href === current;
          return (
            <li key={t.href}>
              <Link
                href={t.href}
                aria-current={active ? "page" : undefined}
                className={cn(
                  "inline-flex h-9 items-center gap-1.5 rounded-t-md border-b-2 px-3 text-sm font-medium transition-colors",
                  "focus-visible:outline-2 focus-visible:outline-offset-[-2px] focus-visible:outline-focus",
                  active ? "border-accent text-fg" : "border-transparent text-fg-muted hover:border-border-strong hover:text-fg",
                )}
              >
                {t.label}
                {t.count !== undefined ? <span className="rounded-full bg-surface-2 px-1.5 text-xs text-fg-subtle">{t.count}</span> : null}
              </Link>
            </li>
          );
        })}
      </ul>
    </nav>
  );
}
