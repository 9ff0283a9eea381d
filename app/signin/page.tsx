import type { Metadata } from "next";
import { SignInCard } from "@/components/auth/sign-in-card";
import { signInWithOidc, signInWithPassword } from "@/lib/auth/actions";
import { authProviders } from "@/lib/auth/providers";

export const metadata: Metadata = { title: "Sign in" };

/**
 * Only a same-origin path may be the post-sign-in destination ("/iap", not "//evil.example" or
 * "https://…"); anything else falls back to the console home. The auth layer should check again.
 */
function safeCallbackUrl(value: string | string[] | undefined): string {
  const v = Array.isArray(value) ? value[0] : value;
  if (!v || !v.startsWith("/") || v.startsWith("//") || v.startsWith("/\\")) return "/iap";
  return v;
}

export default async function SignInPage({
  searchParams,
}: {
  searchParams: Promise<Record<string, string | string[] | undefined>>;
}) {
  const params = await searchParams;
  return (
    <SignInCard
      callbackUrl={safeCallbackUrl(params.callbackUrl)}
      providers={authProviders()}
      signInWithPassword={signInWithPassword}
      signInWithOidc={signInWithOidc}
    />
  );
}
