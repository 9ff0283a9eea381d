"use client";

import { useActionState } from "react";
import { Alert, LiveRegion } from "@/components/ui/alert";
import { Field } from "@/components/ui/field";
import { Input } from "@/components/ui/input";
import { SubmitButton } from "@/components/ui/submit-button";

export type NewPasswordState = { error?: string } | undefined;
export type NewPasswordAction = (prev: NewPasswordState, formData: FormData) => Promise<{ error?: string }>;

const ERROR_ID = "new-password-error";

/** "Choose a new password" after a sign-in with a one-time password. */
export function NewPasswordForm({ action, callbackUrl, rules }: { action: NewPasswordAction; callbackUrl: string; rules: string }) {
  const [state, formAction, pending] = useActionState<NewPasswordState, FormData>(action, undefined);
  const error = state?.error;
  return (
    <form action={formAction} className="space-y-4">
      <input type="hidden" name="callbackUrl" value={callbackUrl} />
      <Field id="password" label="New password" hint={`Use ${rules}.`}>
        {(p) => (
          <Input
            {...p}
            name="password"
            type="password"
            autoComplete="new-password"
            required
            aria-invalid={error ? true : undefined}
            aria-describedby={[p["aria-describedby"], error ? ERROR_ID : undefined].filter(Boolean).join(" ") || undefined}
            className="h-9"
          />
        )}
      </Field>
      <Field id="confirm" label="Repeat the new password">
        {(p) => <Input {...p} name="confirm" type="password" autoComplete="new-password" required aria-invalid={error ? true : undefined} className="h-9" />}
      </Field>
      <LiveRegion>
        {error ? (
          <Alert id={ERROR_ID} tone="error" live={false}>
            {error}
          </Alert>
        ) : null}
      </LiveRegion>
      <SubmitButton variant="primary" size="lg" className="w-full" loading={pending} pendingLabel="Saving…">
        Set password and continue
      </SubmitButton>
    </form>
  );
}
