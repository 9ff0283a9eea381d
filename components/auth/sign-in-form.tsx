"use client";

import { useActionState, useState } from "react";
import { Alert, LiveRegion } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import { Field } from "@/components/ui/field";
import { Input } from "@/components/ui/input";
import { SubmitButton } from "@/components/ui/submit-button";

export type SignInState = { error?: string } | undefined;
export type SignInAction = (prev: SignInState, formData: FormData) => Promise<{ error?: string }>;

export interface SignInFormProps {
  /** The password sign-in server action; on success it redirects, on failure it returns `{ error }`. */
  action: SignInAction;
  /** Where to land after signing in (the page has already checked it is a same-origin path). */
  callbackUrl: string;
  /** The demo admin's email (development only); its password is printed in the terminal, never here. */
  demoHint?: { email: string } | null;
  /** An error to show before any attempt (a refusal the sign-in redirected here with). */
  initialError?: string | null;
}

const ERROR_ID = "signin-error";

export function SignInForm({ action, callbackUrl, demoHint, initialError }: SignInFormProps) {
  const [state, formAction, pending] = useActionState<SignInState, FormData>(action, undefined);
  // Controlled, so React's reset of the form after an action does not wipe what was typed.
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const error = state ? state.error : (initialError ?? undefined);

  return (
    <div className="space-y-4">
      {demoHint ? (
        <Alert tone="info" live={false}>
          <div className="flex items-start justify-between gap-3">
            <div className="min-w-0">
              <p className="font-medium">Demo sign-in</p>
              <p className="mt-1 text-xs">
                <span className="font-mono break-all">{demoHint.email}</span> — password in the terminal that runs Gatehouse
              </p>
            </div>
            <Button variant="ghost" size="sm" className="-my-1 -mr-1.5 text-info-fg hover:text-info-fg" onClick={() => setEmail(demoHint.email)}>
              Fill in
            </Button>
          </div>
        </Alert>
      ) : null}

      <form action={formAction} className="space-y-4">
        <input type="hidden" name="callbackUrl" value={callbackUrl} />
        <Field id="email" label="Email">
          {(p) => (
            <Input
              {...p}
              name="email"
              type="email"
              autoComplete="username"
              required
              value={email}
              onChange={(e) => setEmail(e.target.value)}
              aria-invalid={error ? true : undefined}
              aria-describedby={error ? ERROR_ID : undefined}
              className="h-9"
            />
          )}
        </Field>
        <Field id="password" label="Password">
          {(p) => (
            <Input
              {...p}
              name="password"
              type="password"
              autoComplete="current-password"
              required
              value={password}
              onChange={(e) => setPassword(e.target.value)}
              aria-invalid={error ? true : undefined}
              aria-describedby={error ? ERROR_ID : undefined}
              className="h-9"
            />
          )}
        </Field>
        <LiveRegion>
          {error ? (
            <Alert id={ERROR_ID} tone="error" live={false}>
              {error}
            </Alert>
          ) : null}
        </LiveRegion>
        <SubmitButton variant="primary" size="lg" className="w-full" loading={pending} pendingLabel="Signing in…">
          Sign in
        </SubmitButton>
      </form>
    </div>
  );
}
