import type { ReactNode } from "react";
import { ConsoleShell } from "@/components/shell/console-shell";
import { signOutAction } from "@/lib/auth/actions";
import { requireSession } from "@/lib/auth/session";
import { hasConsoleAccess } from "@/lib/auth/console-access";
import { NoAccess } from "@/components/shell/no-access";

// The shell shows the signed-in user, or why they may not use the console. Each page still checks
// for itself (requireSession, and its data is filtered by IAM), because a layout does not re-render
// on client navigation and must not be the only gate (CONVENTIONS §12).
export default async function ConsoleLayout({ children }: { children: ReactNode }) {
  const session = await requireSession();
  const allowed = hasConsoleAccess(session.principal);
  return (
    <ConsoleShell user={{ email: session.email, name: session.name }} signOutAction={signOutAction}>
      {allowed ? children : <NoAccess email={session.email} />}
    </ConsoleShell>
  );
}
