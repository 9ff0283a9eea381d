// GET /effective-access/export?resource=…|principal=…[&permission=…]: the effective-access answer
// as CSV, for the signed-in console user (the same view model and the same permission checks as
// the page). A GET that only reads: no CSRF concern beyond the session cookie's SameSite=Lax.
import { principalActor } from "@/lib/admin/context";
import { getSession } from "@/lib/auth/session";
import { accessCsv, effectiveAccess } from "@/lib/console/effective-access";
import { adminDeps } from "@/lib/decide/registry";
import { toErrorBody } from "@/lib/errors";

export async function GET(request: Request): Promise<Response> {
  const session = await getSession();
  if (!session || session.mustChangePassword) return Response.json({ error: { code: "UNAUTHENTICATED", message: "Sign in to the console first." } }, { status: 401 });
  const params = new URL(request.url).searchParams;
  const input = Object.fromEntries(["resource", "principal", "permission"].flatMap((k) => (params.get(k) ? [[k, params.get(k)]] : [])));
  try {
    const view = effectiveAccess(adminDeps().engine.current().snapshot, principalActor(session.principal), input, new Date());
    const subject = (view.query.resource ?? view.query.principal ?? "access").replace(/[^A-Za-z0-9._-]+/g, "_").slice(0, 100);
    return new Response(accessCsv(view.rows), {
      headers: {
        "content-type": "text/csv; charset=utf-8",
        "content-disposition": `attachment; filename="effective-access-${subject}.csv"`,
        "cache-control": "no-store",
      },
    });
  } catch (e) {
    const { status, body } = toErrorBody(e);
    if (status === 500) console.error(e);
    return Response.json(body, { status });
  }
}
