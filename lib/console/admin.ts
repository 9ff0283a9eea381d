// The console's way into lib/admin: every server action builds its AdminContext here, from the
// checked session (requireSession), the live engine and the instance configuration the admin API
// uses — so a console edit is authorised, validated and recorded exactly like an API call, by the
// same functions (there is no second write path). Next.js checks a server action's Origin against
// its Host, which is the console's CSRF defence for these (the admin API checks Origin itself).
import { headers } from "next/headers";
import { principalActor, type AdminContext } from "@/lib/admin/context";
import { CLIENT_ADDRESS_HEADER } from "@/lib/auth/client-address";
import { requireSession, type ConsoleSession } from "@/lib/auth/session";
import { db } from "@/lib/db/client";
import { adminDeps } from "@/lib/decide/registry";
import { AppError } from "@/lib/errors";
import type { ActionResult } from "./action-result";

// ActionResult and fieldError live in ./action-result so client components can use them too.
export { fieldError, type ActionResult } from "./action-result";

/** The signed-in user's AdminContext (redirects to sign-in without a standing session). */
export async function consoleAdmin(): Promise<{ ctx: AdminContext; session: ConsoleSession }> {
  const session = await requireSession();
  const h = await headers();
  const { engine, instance } = adminDeps();
  const callerIp = h.get(CLIENT_ADDRESS_HEADER) ?? undefined;
  const userAgent = h.get("user-agent") ?? undefined;
  return {
    session,
    ctx: {
      db: db(),
      actor: principalActor(session.principal),
      engine,
      instance,
      requestMeta: { ...(callerIp ? { callerIp } : {}), ...(userAgent ? { userAgent } : {}) },
    },
  };
}

export async function adminAction<T>(body: (ctx: AdminContext) => Promise<T>): Promise<ActionResult<T>> {
  const { ctx } = await consoleAdmin();
  try {
    return { ok: true, value: await body(ctx) };
  } catch (err) {
    if (err instanceof AppError) return { ok: false, code: err.code, message: err.message, ...(err.details.length ? { details: err.details } : {}) };
    console.error(err);
    return { ok: false, code: "INTERNAL", message: "Something went wrong on the server; nothing was changed." };
  }
}
