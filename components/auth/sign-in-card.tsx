import { Card } from "@/components/ui/card";
import { Icon } from "@/components/ui/icon";
import { SubmitButton } from "@/components/ui/submit-button";
import type { AuthProviders } from "@/lib/auth/providers";
import { SignInForm, type SignInAction } from "./sign-in-form";

export interface SignInCardProps {
  callbackUrl: string;
  providers: AuthProviders;
  /** Why the last sign-in was refused (from the redirect's ?error=), if it was. */
  error?: string | null;
  signInWithPassword: SignInAction;
  signInWithOidc: (formData: FormData) => Promise<void>;
}

/** The whole sign-in screen: product mark, optional SSO button, password form, demo hint. */
export function SignInCard({ callbackUrl, providers, error, signInWithPassword, signInWithOidc }: SignInCardProps) {
  return (
    <main className="flex min-h-dvh flex-col items-center justify-center px-4 py-12">
      <div className="w-full max-w-sm">
        <div className="mb-6 flex flex-col items-center text-center">
          <span className="mb-3 flex size-10 items-center justify-center rounded-lg bg-accent text-accent-fg shadow-sm">
            <Icon name="logo" className="size-5" />
          </span>
          <h1 className="text-xl font-semibold tracking-tight">Sign in to Gatehouse</h1>
          <p className="mt-1 text-sm text-fg-muted">Who may reach what, behind your identity-aware proxy.</p>
        </div>

        <Card className="p-6">
          {providers.oidcEnabled ? (
            <>
              <form action={signInWithOidc}>
                <input type="hidden" name="callbackUrl" value={callbackUrl} />
                <SubmitButton variant="secondary" size="lg" className="w-full" pendingLabel="Redirecting…">
                  Sign in with {providers.oidcName ?? "SSO"}
                </SubmitButton>
              </form>
              <div className="my-5 flex items-center gap-3 text-xs text-fg-subtle">
                <span className="h-px flex-1 bg-border" aria-hidden="true" />
                or with a password
                <span className="h-px flex-1 bg-border" aria-hidden="true" />
              </div>
            </>
          ) : null}
          <SignInForm action={signInWithPassword} callbackUrl={callbackUrl} demoHint={providers.demoHint} initialError={error} />
        </Card>

        <p className="mt-6 text-center text-xs text-fg-subtle">
          Access to this console is itself governed by IAM on the same engine.
        </p>
      </div>
    </main>
  );
}
