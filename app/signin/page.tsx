import type { Metadata } from "next";
import { SignInCard } from "@/components/auth/sign-in-card";
import { signInWithOidc, signInWithPassword } from "@/lib/auth/actions";
import { authProviders } from "@/lib/auth/providers";
import { safeReturnUrl } from "@/lib/auth/return-url";
import { env } from "@/lib/env";

export const metadata: Metadata = { title: "Sign in" };

export default async function SignInPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const params = await searchParams;
  const raw = Array.isArray(params.callbackUrl) ? params.callbackUrl[0] : params.callbackUrl;
  const e = env();
  // A Gatehouse path, or an app inside the cookie domain (forward-auth); the actions check again.
  const callbackUrl = safeReturnUrl(raw, { publicUrl: e.GATEHOUSE_PUBLIC_URL });
  return <SignInCard callbackUrl={callbackUrl} providers={authProviders()} signInWithPassword={signInWithPassword} signInWithOidc={signInWithOidc} />;
}
