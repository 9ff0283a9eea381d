"use server";
// Sign-in / sign-out server actions used by the sign-in page and the console header.
import { AuthError } from "next-auth";
import { env } from "@/lib/env";
import { signIn, signOut, ZSignIn } from "./config";
import { safeReturnUrl } from "./return-url";

export interface SignInState {
  error?: string;
}

/** Gatehouse's own paths and origin only (applications are reached through the app-session start). */
function safeCallback(v: FormDataEntryValue | null): string {
  return safeReturnUrl(v, { publicUrl: env().GATEHOUSE_PUBLIC_URL });
}

export async function signInWithPassword(_prev: SignInState | undefined, formData: FormData): Promise<SignInState> {
  const parsed = ZSignIn.safeParse({ email: formData.get("email"), password: formData.get("password") });
  if (!parsed.success) return { error: parsed.error.issues[0]?.message ?? "Enter your email and password" };
  try {
    await signIn("credentials", { ...parsed.data, redirectTo: safeCallback(formData.get("callbackUrl")) });
    return {};
  } catch (e) {
    if (e instanceof AuthError) return { error: "Wrong email or password" };
    throw e; // the redirect after a successful sign-in is thrown, and must propagate
  }
}

export async function signInWithOidc(formData: FormData): Promise<void> {
  await signIn("oidc", { redirectTo: safeCallback(formData.get("callbackUrl")) });
}

export async function signOutAction(): Promise<void> {
  await signOut({ redirectTo: "/signin" });
}
