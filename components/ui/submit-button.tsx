"use client";

import { useFormStatus } from "react-dom";
import type { ReactNode } from "react";
import { Button, type ButtonProps } from "./button";

/**
 * A submit button that shows the pending state of its enclosing `<form action={…}>`.
 * `pendingLabel` replaces the label while the action runs (e.g. "Signing in…").
 */
export function SubmitButton({
  children,
  pendingLabel,
  loading,
  ...rest
}: Omit<ButtonProps, "type"> & { pendingLabel?: ReactNode }) {
  const { pending } = useFormStatus();
  const busy = pending || Boolean(loading);
  return (
    <Button type="submit" loading={busy} {...rest}>
      {busy && pendingLabel ? pendingLabel : children}
    </Button>
  );
}
