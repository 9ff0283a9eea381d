// Every console page and server action calls requireSession(): a layout does not re-run on
// navigation and middleware can be bypassed, so the check lives next to the data.
import { redirect } from "next/navigation";
import { auth } from "./config";

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
  if (!session) redirect("/signin");
  return session;
}
