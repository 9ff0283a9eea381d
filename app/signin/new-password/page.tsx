import type { Metadata } from "next";
import { redirect } from "next/navigation";
import { NewPasswordForm } from "@/components/auth/new-password-form";
import { Card } from "@/components/ui/card";
import { Icon } from "@/components/ui/icon";
import { choosePasswordAction } from "@/lib/auth/actions";
import { safeReturnUrl } from "@/lib/auth/return-url";
import { requireSession } from "@/lib/auth/session";
import { PASSWORD_RULES } from "@/lib/auth/users";
import { env } from "@/lib/env";

export const metadata: Metadata = { title: "Choose a new password" };

// After a sign-in with a one-time password (`user create`, `user reset-password`), every console
// page sends the user here first (lib/auth/session.ts requireSession).
export default async function NewPasswordPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const session = await requireSession({ allowPasswordChange: true });
  const params = await searchParams;
  const raw = Array.isArray(params.callbackUrl) ? params.callbackUrl[0] : params.callbackUrl;
  const e = env();
  const callbackUrl = safeReturnUrl(raw, { publicUrl: e.GATEHOUSE_PUBLIC_URL });
  if (!session.mustChangePassword) redirect(callbackUrl);
  return (
    <main className="flex min-h-dvh flex-col items-center justify-center px-4 py-12">
      <div className="w-full max-w-sm">
        <div className="mb-6 flex flex-col items-center text-center">
          <span className="mb-3 flex size-10 items-center justify-center rounded-lg bg-accent text-accent-fg shadow-sm">
            <Icon name="logo" className="size-5" />
          </span>
          <h1 className="text-xl font-semibold tracking-tight">Choose a new password</h1>
          <p className="mt-1 text-sm text-fg-muted">
            You signed in as <span className="font-medium text-fg">{session.email}</span> with a one-time password. Choose your own before you go on.
          </p>
        </div>
        <Card className="p-6">
          <NewPasswordForm action={choosePasswordAction} callbackUrl={callbackUrl} rules={PASSWORD_RULES} />
        </Card>
      </div>
    </main>
  );
}
