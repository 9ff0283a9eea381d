import type { Metadata } from "next";
import { SignInCard } from "@/components/auth/sign-in-card";
import { signInWithOidc, signInWithPassword } from "@/lib/auth/actions";
import { authProviders } from "@/lib/auth/providers";
import { safeReturnUrl } from "@/lib/auth/return-url";
import { env } from "@/lib/env";

export const metadata: Metadata = { title: "Sign in" };

/** Auth.js redirects refusals here with ?error= (pages.error in lib/auth/config.ts). */
function refusalMessage(error: string | undefined, code: string | undefined): string | null {
  if (!error) return null;
  if (error === "AccessDenied") {
    return "Sign-in refused. Your identity provider must confirm that you own your email address, and your account must not be disabled.";
  }
  if (error === "CredentialsSignin") return code === "throttled" ? "Too many attempts. Try again later." : "Wrong email or password";
  return "Sign-in failed. Try again, or ask an administrator.";
}

const first = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);

export default async function SignInPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const params = await searchParams;
  const raw = Array.isArray(params.callbackUrl) ? params.callbackUrl[0] : params.callbackUrl;
  const e = env();
  // A Gatehouse path, or an app inside the cookie domain (forward-auth); the actions check again.
  const callbackUrl = safeReturnUrl(raw, { publicUrl: e.GATEHOUSE_PUBLIC_URL });
  return (
    <SignInCard
      callbackUrl={callbackUrl}
      providers={authProviders()}
      error={refusalMessage(first(params.error), first(params.code))}
      signInWithPassword={signInWithPassword}
      signInWithOidc={signInWithOidc}
    />
  );
}
