"use client";

// A button that opens a dialog with a form; submitting runs a server action. Field errors come
// back by path (lib/admin's details) for `fields` to show next to each control; an error without
// a field shows above the buttons. On success the dialog closes and the page refreshes — or, with
// `success`, shows a one-time result (a password, a key) until the user closes it.
import { useRouter } from "next/navigation";
import { useId, useState, useTransition, type ReactNode } from "react";
import { Alert, LiveRegion } from "@/components/ui/alert";
import { Button, type ButtonProps } from "@/components/ui/button";
import { Dialog } from "@/components/ui/dialog";
import type { ActionResult } from "@/lib/console/admin";

export type FieldErrors = (field: string) => string | null;

export interface FormDialogProps<T> {
  triggerLabel: ReactNode;
  triggerVariant?: ButtonProps["variant"];
  triggerSize?: ButtonProps["size"];
  triggerAriaLabel?: string;
  title: ReactNode;
  description?: ReactNode;
  submitLabel: string;
  size?: "sm" | "md" | "lg";
  /** The form's controls; `error(field)` is the message for that field from the last attempt. */
  fields: (error: FieldErrors) => ReactNode;
  action: (form: FormData) => Promise<ActionResult<T>>;
  /** After success: go there (a path), or stay and refresh. */
  then?: (value: T) => string | undefined;
  /** After success: show this in the dialog (a one-time secret) instead of closing it. */
  success?: (value: T) => ReactNode;
  /** Fields whose errors are shown by `fields` (the rest go to the form-level message). */
  fieldNames: readonly string[];
}

function matches(path: string | undefined, field: string): boolean {
  return path !== undefined && (path === field || path.startsWith(`${field}.`) || path.startsWith(`${field}[`));
}

export function FormDialog<T>({ triggerLabel, triggerVariant = "primary", triggerSize = "md", triggerAriaLabel, title, description, submitLabel, size = "md", fields, action, then, success, fieldNames }: FormDialogProps<T>) {
  const router = useRouter();
  const formId = useId();
  const [open, setOpen] = useState(false);
  const [result, setResult] = useState<ActionResult<T> | null>(null);
  const [done, setDone] = useState<T | null>(null);
  const [pending, start] = useTransition();
  const close = () => {
    setOpen(false);
    // A one-time secret leaves the page's state with the dialog.
    setDone(null);
    setResult(null);
    if (done !== null) router.refresh();
  };
  const submit = (form: FormData) =>
    start(async () => {
      const r = await action(form);
      setResult(r);
      if (!r.ok) return;
      if (success) {
        setDone(r.value);
        return;
      }
      setOpen(false);
      setResult(null);
      const next = then?.(r.value);
      if (next) router.push(next);
      else router.refresh();
    });
  const details = result && !result.ok ? (result.details ?? []) : [];
  const error: FieldErrors = (field) => details.find((d) => matches(d.path, field))?.message ?? null;
  const general = result && !result.ok && !details.some((d) => fieldNames.some((f) => matches(d.path, f))) ? result.message : null;
  return (
    <>
      <Button variant={triggerVariant} size={triggerSize} aria-label={triggerAriaLabel} onClick={() => setOpen(true)}>
        {triggerLabel}
      </Button>
      {/* The dialog sits where its button is (a right-aligned, no-wrap table cell…): it must not inherit that. */}
      <div className="contents text-left whitespace-normal [overflow-wrap:anywhere]">
        <Dialog
          open={open}
          onClose={close}
          title={title}
          description={description}
          size={size}
          footer={
            done !== null ? (
              <Button variant="primary" onClick={close}>
                Done
              </Button>
            ) : (
              <>
                <Button onClick={close} disabled={pending}>
                  Cancel
                </Button>
                <Button variant="primary" type="submit" form={formId} loading={pending}>
                  {submitLabel}
                </Button>
              </>
            )
          }
        >
          {done !== null && success ? (
            success(done)
          ) : (
            <form
              id={formId}
              className="space-y-4"
              noValidate
              onSubmit={(e) => {
                // Not `action=`: React resets a form after its action, which would wipe what was typed when it is refused.
                e.preventDefault();
                submit(new FormData(e.currentTarget));
              }}
            >
              {fields(error)}
              <LiveRegion>{general ? <Alert tone="error">{general}</Alert> : null}</LiveRegion>
            </form>
          )}
        </Dialog>
      </div>
    </>
  );
}

/** A FormData field as a trimmed string ("" when absent). */
export function formText(form: FormData, name: string): string {
  const v = form.get(name);
  return typeof v === "string" ? v.trim() : "";
}
