"use client";

import Link from "next/link";
import { usePathname } from "next/navigation";
import { cn } from "@/components/ui/cn";
import { Icon } from "@/components/ui/icon";
import { NAV_GROUPS, isActive } from "./nav-items";

/** Sidebar (md and up) and a horizontal strip (small screens) with the active section marked. */
export function SidebarNav({ orientation = "vertical" }: { orientation?: "vertical" | "horizontal" }) {
  const pathname = usePathname() ?? "/";

  if (orientation === "horizontal") {
    return (
      <ul className="flex gap-1 overflow-x-auto px-3 py-2">
        {NAV_GROUPS.flatMap((g) => g.items).map((item) => {
          const active = isActive(pathname, item.href);
          return (
            <li key={item.href}>
              <Link
                href={item.href}
                aria-current={active ? "page" : undefined}
                className={cn(
                  "flex h-7 items-center gap-1.5 rounded-md px-2.5 text-sm whitespace-nowrap",
                  active ? "bg-accent-soft font-medium text-accent-soft-fg" : "text-fg-muted hover:bg-surface-hover",
                )}
              >
                <Icon name={item.icon} />
                {item.label}
              </Link>
            </li>
          );
        })}
      </ul>
    );
  }

  return (
    <div className="space-y-5 px-3 py-4">
      {NAV_GROUPS.map((group) => (
        <div key={group.label}>
          <div id={`nav-${group.label}`} className="mb-1 px-2.5 text-2xs font-semibold tracking-wider text-fg-subtle uppercase">
            {group.label}
          </div>
          <ul aria-labelledby={`nav-${group.label}`} className="space-y-0.5">
            {group.items.map((item) => {
              const active = isActive(pathname, item.href);
              return (
                <li key={item.href}>
                  <Link
                    href={item.href}
                    aria-current={active ? "page" : undefined}
                    className={cn(
                      "group relative flex h-8 items-center gap-2.5 rounded-md px-2.5 text-sm transition-colors",
                      active
                        ? "bg-accent-soft font-medium text-accent-soft-fg"
                        : "text-fg-muted hover:bg-surface-hover hover:text-fg",
                    )}
                  >
                    {active ? (
                      <span className="absolute inset-y-1.5 -left-3 w-0.5 rounded-r bg-accent" aria-hidden="true" />
                    ) : null}
                    <Icon
                      name={item.icon}
                      className={cn(active ? "text-accent-soft-fg" : "text-fg-subtle group-hover:text-fg-muted")}
                    />
                    {item.label}
                  </Link>
                </li>
              );
            })}
          </ul>
        </div>
      ))}
    </div>
  );
}
