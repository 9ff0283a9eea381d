"use client";

// A button that asks for confirmation, then runs a server action; on success the page's server
// data is refreshed (or the browser goes to `then`), on refusal the action's message stays in the
// dialog. Shared by the console sections for every destructive or state-changing action.
import { useRouter } from "next/navigation";
import { useState, useTransition, type ReactNode } from "react";
import { Button, type ButtonProps } from "@/components/ui/button";
import { ConfirmDialog } from "@/components/ui/dialog";
import type { ActionResult } from "@/lib/console/admin";

export interface ConfirmActionProps {
  label: ReactNode;
  /** The button's accessible name when `label` is short or an icon (e.g. "Remove user:bob@…"). */
  ariaLabel?: string;
  title: ReactNode;
  children: ReactNode;
  confirmLabel: string;
  action: () => Promise<ActionResult<unknown>>;
  /** Where to go after success (default: stay and refresh). */
  then?: string;
  variant?: ButtonProps["variant"];
  size?: ButtonProps["size"];
  tone?: "danger" | "primary";
}

export function ConfirmAction({ label, ariaLabel, title, children, confirmLabel, action, then, variant = "secondary", size = "sm", tone = "danger" }: ConfirmActionProps) {
  const router = useRouter();
  const [open, setOpen] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [pending, start] = useTransition();
  const confirm = () =>
    start(async () => {
      const r = await action();
      if (!r.ok) {
        setError(r.message);
        return;
      }
      setOpen(false);
      if (then) router.push(then);
      else router.refresh();
    });
  return (
    <>
      <Button variant={variant} size={size} aria-label={ariaLabel} onClick={() => (setError(null), setOpen(true))}>
        {label}
      </Button>
      {/* The dialog sits where its button is (a right-aligned, no-wrap table cell…): it must not inherit that. */}
      <div className="contents text-left whitespace-normal [overflow-wrap:anywhere]">
        <ConfirmDialog open={open} onClose={() => setOpen(false)} onConfirm={confirm} title={title} confirmLabel={confirmLabel} pending={pending} error={error} tone={tone}>
          {children}
        </ConfirmDialog>
      </div>
    </>
  );
}
