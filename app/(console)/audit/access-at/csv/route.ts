// CSV of /audit/access-at: the same view model and lib/admin function, as the signed-in user.
import { STATUS_BY_CODE, type ErrorCode } from "@/lib/errors";
import { accessAtCsv, getAccessAt } from "@/lib/console/history";

export async function GET(request: Request): Promise<Response> {
  const q = new URL(request.url).searchParams;
  const path = q.get("path") ?? "";
  const r = await getAccessAt({ resource: q.get("resource") ?? "", time: q.get("time") ?? "", ...(path ? { path } : {}) });
  if (!r.ok) return Response.json({ error: { code: r.code, message: r.message } }, { status: STATUS_BY_CODE[r.code as ErrorCode] ?? 500 });
  const name = `access-${r.value.resource.replace(/[^\w.-]+/g, "_")}-${r.value.time.replace(/[^\dT]/g, "")}.csv`;
  return new Response(accessAtCsv(r.value), {
    headers: { "content-type": "text/csv; charset=utf-8", "content-disposition": `attachment; filename="${name}"`, "cache-control": "no-store" },
  });
}
