import type { ReactNode } from "react";
import { cn } from "./cn";
import { Icon, type IconName } from "./icon";

export type AlertTone = "error" | "info" | "success" | "warning";

const TONES: Record<AlertTone, { box: string; icon: IconName }> = {
  error: { box: "border-danger/30 bg-danger-soft text-danger-fg", icon: "alert-circle" },
  info: { box: "border-info-fg/20 bg-info-soft text-info-fg", icon: "info" },
  success: { box: "border-success-fg/20 bg-success-soft text-success-fg", icon: "check-circle" },
  warning: { box: "border-warning-fg/25 bg-warning-soft text-warning-fg", icon: "alert-circle" },
};

export interface AlertProps {
  tone?: AlertTone;
  title?: ReactNode;
  children?: ReactNode;
  /**
   * Announce the alert when it appears: errors as role="alert" (assertive), others as
   * role="status" (polite). Set false for static notes present on page load.
   * Screen readers only announce regions that exist before their content changes; for form
   * errors render the Alert inside an always-present `aria-live` container (see LiveRegion).
   */
  live?: boolean;
  id?: string;
  className?: string;
}

export function Alert({ tone = "info", title, children, live = true, id, className }: AlertProps) {
  const t = TONES[tone];
  const role = live ? (tone === "error" ? "alert" : "status") : undefined;
  return (
    <div id={id} role={role} className={cn("flex gap-2.5 rounded-md border px-3 py-2.5 text-sm", t.box, className)}>
      <Icon name={t.icon} className="mt-0.5 size-4" />
      <div className="min-w-0 flex-1 space-y-0.5">
        {title ? <p className="font-semibold">{title}</p> : null}
        {children ? <div className={cn(title ? "text-fg-muted" : undefined)}>{children}</div> : null}
      </div>
    </div>
  );
}

/** An always-rendered polite live region; put changing messages (e.g. an Alert) inside it. */
export function LiveRegion({ children, className }: { children?: ReactNode; className?: string }) {
  return (
    <div aria-live="polite" aria-atomic="true" className={className}>
      {children}
    </div>
  );
}
