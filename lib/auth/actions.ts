"use server";
// Sign-in / sign-out server actions used by the sign-in page and the console header, and the
// "choose a new password" action that follows a sign-in with a one-time password.
import { AuthError } from "next-auth";
import { redirect } from "next/navigation";
import { db } from "@/lib/db/client";
import { AppError } from "@/lib/errors";
import { env } from "@/lib/env";
import { signIn, signOut, ThrottledSignIn, ZSignIn } from "./config";
import { safeReturnUrl } from "./return-url";
import { getSession, NEW_PASSWORD_PATH } from "./session";
import { retryAfterText } from "./throttle";
import { chooseNewPassword } from "./users";

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
  const callbackUrl = safeCallback(formData.get("callbackUrl"));
  let next: string;
  try {
    next = await signIn("credentials", { ...parsed.data, redirectTo: callbackUrl, redirect: false });
  } catch (e) {
    // Never says whether the account exists; a throttled attempt says how long to wait.
    if (e instanceof ThrottledSignIn) return { error: `Too many attempts. Try again in ${retryAfterText(e.retryAfterMs)}.` };
    if (e instanceof AuthError) return { error: "Wrong email or password" };
    throw e;
  }
  // Signed in with a one-time password: choosing a new one comes before anything else, also
  // before returning to an app.
  const user = await db().user.findUnique({ where: { email: parsed.data.email }, select: { passwordMustChange: true } });
  redirect(user?.passwordMustChange ? `${NEW_PASSWORD_PATH}?callbackUrl=${encodeURIComponent(callbackUrl)}` : next);
}

export async function signInWithOidc(formData: FormData): Promise<void> {
  await signIn("oidc", { redirectTo: safeCallback(formData.get("callbackUrl")) });
}

export async function signOutAction(): Promise<void> {
  await signOut({ redirectTo: "/signin" });
}

export interface NewPasswordState {
  error?: string;
}

/** Replaces the one-time password of the signed-in user, then continues to where they were going. */
export async function choosePasswordAction(_prev: NewPasswordState | undefined, formData: FormData): Promise<NewPasswordState> {
  // Reachable by a direct POST: check the session again (only a one-time-password session may).
  const session = await getSession();
  if (!session) redirect("/signin");
  if (!session.mustChangePassword) redirect("/");
  const password = formData.get("password");
  const confirm = formData.get("confirm");
  if (typeof password !== "string" || typeof confirm !== "string") return { error: "Enter the new password twice" };
  if (password !== confirm) return { error: "The two passwords differ" };
  try {
    await chooseNewPassword(db(), { email: session.email, password });
  } catch (e) {
    if (e instanceof AppError) return { error: e.message };
    throw e;
  }
  redirect(safeCallback(formData.get("callbackUrl")));
}
