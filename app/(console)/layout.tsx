import type { ReactNode } from "react";
import { ConsoleShell } from "@/components/shell/console-shell";
import { signOutAction } from "@/lib/auth/actions";
import { requireSession } from "@/lib/auth/session";

// The shell shows the signed-in user; each page still calls requireSession() itself, because a
// layout does not re-render on client navigation and must not be the only gate (CONVENTIONS §12).
export default async function ConsoleLayout({ children }: { children: ReactNode }) {
  const session = await requireSession();
  return (
    <ConsoleShell user={{ email: session.email, name: session.name }} signOutAction={signOutAction}>
      {children}
    </ConsoleShell>
  );
}
