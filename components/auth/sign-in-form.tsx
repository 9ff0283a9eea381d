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
  /** Demo credentials to show (and offer to fill in), when the server is running the demo world. */
  demoHint?: { email: string; password: string } | null;
}

const ERROR_ID = "signin-error";

export function SignInForm({ action, callbackUrl, demoHint }: SignInFormProps) {
  const [state, formAction, pending] = useActionState<SignInState, FormData>(action, undefined);
  // Controlled, so React's reset of the form after an action does not wipe what was typed.
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const error = state?.error;

  return (
    <div className="space-y-4">
      {demoHint ? (
        <Alert tone="info" live={false}>
          <div className="flex items-start justify-between gap-3">
            <div className="min-w-0">
              <p className="font-medium">Demo sign-in</p>
              <dl className="mt-1 grid grid-cols-[auto_1fr] gap-x-3 gap-y-0.5 text-xs">
                <dt>Email</dt>
                <dd className="font-mono break-all">{demoHint.email}</dd>
                <dt>Password</dt>
                <dd className="font-mono break-all">{demoHint.password}</dd>
              </dl>
            </div>
            <Button
              variant="ghost"
              size="sm"
              className="-my-1 -mr-1.5 text-info-fg hover:text-info-fg"
              onClick={() => {
                setEmail(demoHint.email);
                setPassword(demoHint.password);
              }}
            >
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
