// Every console page and server action calls requireSession(): a layout does not re-run on
// navigation and middleware can be bypassed, so the check lives next to the data.
import { headers } from "next/headers";
import { redirect } from "next/navigation";
import { auth } from "./config";
import { REQUEST_PATH_HEADER } from "./request-path";

export interface ConsoleSession {
  email: string;
  name: string | null;
  /** The IAM principal the console user acts as. */
  principal: string;
}

export async function getSession(): Promise<ConsoleSession | null> {
  const session = await auth();
  const email = session?.user?.email;
  if (!email) return null;
  return { email, name: session.user?.name ?? null, principal: `user:${email}` };
}

export async function requireSession(): Promise<ConsoleSession> {
  const session = await getSession();
  if (!session) {
    // The custom server records the requested path, so sign-in can return to it.
    const path = (await headers()).get(REQUEST_PATH_HEADER);
    redirect(path && path.startsWith("/") && !path.startsWith("//") ? `/signin?callbackUrl=${encodeURIComponent(path)}` : "/signin");
  }
  return session;
}
