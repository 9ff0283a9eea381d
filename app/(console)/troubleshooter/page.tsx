import type { Metadata } from "next";
import { Alert, PageHeader } from "@/components/ui";
import { TroubleshootForm } from "@/components/troubleshooter/troubleshoot-form";
import { TraceView } from "@/components/troubleshooter/trace-view";
import { principalActor } from "@/lib/admin/context";
import { requireSession } from "@/lib/auth/session";
import { QUERY_FIELDS, troubleshoot, troubleshootableResources, type TroubleshootView } from "@/lib/console/troubleshooter";
import { adminDeps } from "@/lib/decide/registry";
import { AppError } from "@/lib/errors";

export const metadata: Metadata = { title: "Troubleshooter" };

type Search = Record<string, string | string[] | undefined>;

export default async function TroubleshooterPage({ searchParams }: { searchParams: Promise<Search> }) {
  const session = await requireSession();
  const params = await searchParams;
  const values: Partial<Record<(typeof QUERY_FIELDS)[number], string>> = {};
  for (const f of QUERY_FIELDS) {
    const v = params[f];
    const first = Array.isArray(v) ? v[0] : v;
    if (first !== undefined) values[f] = first;
  }
  const snapshot = adminDeps().engine.current().snapshot;
  const actor = principalActor(session.principal);
  const asked = values.principal !== undefined;
  let view: TroubleshootView | null = null;
  let failure: AppError | null = null;
  if (asked) {
    try {
      view = troubleshoot(snapshot, actor, values, new Date());
    } catch (e) {
      if (!(e instanceof AppError)) throw e;
      failure = e;
    }
  }
  const errors: Record<string, string> = {};
  for (const d of failure?.code === "INVALID_ARGUMENT" ? failure.details : []) if (d.path && !errors[d.path]) errors[d.path] = d.message;

  return (
    <>
      <PageHeader
        eyebrow="Diagnose"
        title="Troubleshooter"
        description={
          <>
            Why can (or can’t) a principal reach a resource? The same engine that answers proxies evaluates the request and shows every binding and deny rule on the way.
            You may troubleshoot resources whose IAM policy you may read (their getIamPolicy permission). The page’s address is the question: share it.
          </>
        }
      />
      <div className="space-y-6">
        <TroubleshootForm values={values} errors={errors} resources={troubleshootableResources(snapshot, actor, new Date())} />
        {failure && failure.code !== "INVALID_ARGUMENT" ? (
          <Alert tone="error" title={failure.code === "PERMISSION_DENIED" ? "You may not troubleshoot this resource" : "Cannot troubleshoot"}>
            {failure.message}
          </Alert>
        ) : null}
        {failure?.code === "INVALID_ARGUMENT" ? <Alert tone="error">Correct the highlighted fields.</Alert> : null}
        {view ? <TraceView view={view} /> : null}
      </div>
    </>
  );
}
