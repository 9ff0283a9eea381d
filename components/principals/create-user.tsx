"use client";

import { useState } from "react";
import { createUserAction } from "@/app/(console)/principals/actions";
import { Alert } from "@/components/ui/alert";
import { buttonClasses } from "@/components/ui/button";
import { Field } from "@/components/ui/field";
import { Input, inputClasses } from "@/components/ui/input";
import { cn } from "@/components/ui/cn";
import { FormDialog, formText } from "./form-dialog";

/** The one-time password, selectable and copyable, shown once in the dialog that created it. */
function OneTimePassword({ email, password }: { email: string; password: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <div className="space-y-3">
      <Alert tone="success" live>
        {email} can now sign in with this one-time password and must choose a new one at the first sign-in.
      </Alert>
      <div className="space-y-1.5">
        <label htmlFor="one-time-password" className="block text-sm font-medium">
          One-time password
        </label>
        <div className="flex gap-2">
          <input id="one-time-password" readOnly value={password} onFocus={(e) => e.currentTarget.select()} className={cn(inputClasses, "font-mono")} />
          <button
            type="button"
            className={buttonClasses()}
            onClick={() => void navigator.clipboard?.writeText(password).then(() => setCopied(true))}
          >
            {copied ? "Copied" : "Copy"}
          </button>
        </div>
        <p className="text-xs text-fg-subtle">It is shown only now: Gatehouse keeps only its hash. Hand it over securely.</p>
      </div>
    </div>
  );
}

export function CreateUserButton() {
  return (
    <FormDialog
      triggerLabel="Create user"
      title="Create user"
      description="Creates the principal user:EMAIL and its console account with a one-time password."
      submitLabel="Create user"
      fieldNames={["email", "displayName"]}
      action={(f) => createUserAction({ email: formText(f, "email"), displayName: formText(f, "displayName") })}
      success={(v) => (v.password ? <OneTimePassword email={v.email} password={v.password} /> : <Alert tone="success">{v.email} was created.</Alert>)}
      fields={(error) => (
        <>
          <Field id="user-email" label="Email" required error={error("email")}>
            {(p) => <Input {...p} name="email" type="email" autoComplete="off" autoFocus />}
          </Field>
          <Field id="user-name" label="Display name" error={error("displayName")}>
            {(p) => <Input {...p} name="displayName" maxLength={100} />}
          </Field>
        </>
      )}
    />
  );
}
