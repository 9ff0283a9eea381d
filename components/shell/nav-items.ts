import type { IconName } from "@/components/ui/icon";

export interface NavItem {
  href: string;
  label: string;
  icon: IconName;
}

export interface NavGroup {
  label: string;
  items: NavItem[];
}

/** The console's sections, in sidebar order. Every href is a page under app/(console). */
export const NAV_GROUPS: NavGroup[] = [
  {
    label: "Access",
    items: [
      { href: "/iap", label: "IAP", icon: "shield" },
      { href: "/access-levels", label: "Access levels", icon: "lock" },
    ],
  },
  {
    label: "Identity",
    items: [
      { href: "/groups", label: "Groups", icon: "users" },
      { href: "/principals", label: "Principals", icon: "user" },
      { href: "/roles", label: "Roles", icon: "key" },
    ],
  },
  {
    label: "Diagnose",
    items: [
      { href: "/troubleshooter", label: "Troubleshooter", icon: "route" },
      { href: "/effective-access", label: "Effective access", icon: "search" },
      { href: "/audit", label: "Audit logs", icon: "log" },
      { href: "/audit/access-at", label: "Access at a time", icon: "users" },
    ],
  },
  {
    label: "Admin",
    items: [
      { href: "/proxies", label: "Proxies", icon: "server" },
      { href: "/settings", label: "Settings", icon: "settings" },
    ],
  },
];

export function isActive(pathname: string, href: string): boolean {
  const under = (h: string) => pathname === h || pathname.startsWith(`${h}/`);
  // A section nested in another (/audit/access-at in /audit) is active alone on its own pages.
  return under(href) && !NAV_GROUPS.some((g) => g.items.some((i) => i.href !== href && i.href.startsWith(`${href}/`) && under(i.href)));
}
