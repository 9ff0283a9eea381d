import Link from "next/link";
import type { ReactNode } from "react";
import { Button } from "@/components/ui/button";
import { Icon } from "@/components/ui/icon";
import { SidebarNav } from "./sidebar-nav";

export interface ConsoleShellProps {
  user: { email: string; name: string | null };
  /** Server action that ends the session; posted by the header's Sign out form. */
  signOutAction: () => Promise<void>;
  children: ReactNode;
}

/**
 * The console frame: skip link, banner (product, signed-in user, sign out), section navigation,
 * and the main landmark the skip link targets. Renders on the server; only the nav is a client
 * component (it needs the current path).
 */
export function ConsoleShell({ user, signOutAction, children }: ConsoleShellProps) {
  const initial = (user.name ?? user.email).trim().charAt(0).toUpperCase() || "?";
  return (
    <div className="flex min-h-dvh flex-col">
      <a
        href="#main"
        className="sr-only z-50 rounded-md bg-accent px-3 py-2 text-sm font-medium text-accent-fg focus:not-sr-only focus:fixed focus:top-2 focus:left-2 focus:px-3 focus:py-2"
      >
        Skip to content
      </a>

      <header className="sticky top-0 z-30 flex h-12 shrink-0 items-center gap-4 border-b border-border bg-surface/95 px-4 backdrop-blur supports-[backdrop-filter]:bg-surface/80">
        <Link href="/iap" className="flex items-center gap-2 rounded-md font-semibold text-fg">
          <span className="flex size-7 items-center justify-center rounded-md bg-accent text-accent-fg">
            <Icon name="logo" className="size-4" />
          </span>
          <span className="text-[0.9375rem] tracking-tight">Gatehouse</span>
          <span className="hidden text-xs font-normal text-fg-subtle sm:inline">Identity-Aware Proxy console</span>
        </Link>

        <div className="ml-auto flex items-center gap-3">
          <div className="flex min-w-0 items-center gap-2" title={user.name ? `${user.name} <${user.email}>` : user.email}>
            <span
              className="flex size-7 shrink-0 items-center justify-center rounded-full bg-surface-2 text-xs font-semibold text-fg-muted ring-1 ring-border"
              aria-hidden="true"
            >
              {initial}
            </span>
            <span className="hidden min-w-0 flex-col leading-tight sm:flex">
              <span className="sr-only">Signed in as </span>
              {user.name ? <span className="truncate text-xs font-medium text-fg">{user.name}</span> : null}
              <span className="truncate text-xs text-fg-muted">{user.email}</span>
            </span>
          </div>
          <form action={signOutAction}>
            <Button type="submit" variant="ghost" size="sm">
              <Icon name="log-out" />
              Sign out
            </Button>
          </form>
        </div>
      </header>

      <div className="flex min-h-0 flex-1 flex-col md:flex-row">
        <nav
          aria-label="Console sections"
          className="shrink-0 border-b border-border bg-sidebar md:w-56 md:border-r md:border-b-0"
        >
          <div className="hidden md:sticky md:top-12 md:block md:max-h-[calc(100dvh-3rem)] md:overflow-y-auto">
            <SidebarNav />
          </div>
          <div className="md:hidden">
            <SidebarNav orientation="horizontal" />
          </div>
        </nav>

        <main id="main" tabIndex={-1} className="min-w-0 flex-1 px-4 py-6 focus:outline-none sm:px-8 lg:px-10">
          <div className="mx-auto max-w-6xl">{children}</div>
        </main>
      </div>
    </div>
  );
}
