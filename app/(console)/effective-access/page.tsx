import type { Metadata } from "next";
import { AccessTable } from "@/components/effective-access/access-table";
import { Alert, Button, Card, CardBody, CardHeader, EmptyState, Field, Input, PageHeader, buttonClasses } from "@/components/ui";
import { principalActor } from "@/lib/admin/context";
import { requireSession } from "@/lib/auth/session";
import { effectiveAccess, type EffectiveAccessView } from "@/lib/console/effective-access";
import { troubleshootableResources } from "@/lib/console/troubleshooter";
import { adminDeps } from "@/lib/decide/registry";
import { AppError } from "@/lib/errors";

export const metadata: Metadata = { title: "Effective access" };

/** Rows shown on the page; the CSV has them all. */
const SHOWN = 500;
const FIELDS = ["resource", "principal", "permission"] as const;

export default async function EffectiveAccessPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const session = await requireSession();
  const params = await searchParams;
  const values: Partial<Record<(typeof FIELDS)[number], string>> = {};
  for (const f of FIELDS) {
    const v = params[f];
    const first = Array.isArray(v) ? v[0] : v;
    if (first) values[f] = first;
  }
  const snapshot = adminDeps().engine.current().snapshot;
  const actor = principalActor(session.principal);
  const now = new Date();
  let view: EffectiveAccessView | null = null;
  let failure: AppError | null = null;
  if (values.resource || values.principal) {
    try {
      view = effectiveAccess(snapshot, actor, values, now);
    } catch (e) {
      if (!(e instanceof AppError)) throw e;
      failure = e;
    }
  }
  const fieldError = (f: string) => (failure?.code === "INVALID_ARGUMENT" ? (failure.details.find((d) => d.path === f)?.message ?? null) : null);
  const asking = values.principal ? "principal" : "resource";
  const exportHref = view ? `/effective-access/export?${new URLSearchParams(Object.entries(values)).toString()}` : null;

  return (
    <>
      <PageHeader
        eyebrow="Diagnose"
        title="Effective access"
        description="Who can reach a resource, or what a principal can reach — each row with the binding that grants it, where it is set and the groups in between. Only policies you may read are counted."
      />
      <div className="grid gap-4 lg:grid-cols-2">
        <Card>
          <CardHeader title="Who can reach this resource?" as="h2" />
          <form method="get" action="/effective-access" aria-label="Who can reach this resource">
            <CardBody className="space-y-3">
              <Field id="ea-resource" label="Resource" error={fieldError("resource")} required>
                {(p) => <Input {...p} name="resource" list="ea-resources" defaultValue={values.resource ?? ""} placeholder="projects/demo/iap_web/compute/services/web" autoComplete="off" spellCheck={false} />}
              </Field>
              <datalist id="ea-resources">
                {troubleshootableResources(snapshot, actor, now).map((r) => (
                  <option key={r} value={r} />
                ))}
              </datalist>
              <Field id="ea-permission" label="Permission" hint="Empty: the permission that grants passage through the resource" error={fieldError("permission")}>
                {(p) => <Input {...p} name="permission" defaultValue={asking === "resource" ? (values.permission ?? "") : ""} autoComplete="off" spellCheck={false} />}
              </Field>
              <div className="flex justify-end">
                <Button type="submit" variant="primary">
                  Show who
                </Button>
              </div>
            </CardBody>
          </form>
        </Card>
        <Card>
          <CardHeader title="What can this principal reach?" as="h2" />
          <form method="get" action="/effective-access" aria-label="What can this principal reach">
            <CardBody className="space-y-3">
              <Field id="ea-principal" label="Principal" hint="user:EMAIL or serviceAccount:EMAIL" error={fieldError("principal")} required>
                {(p) => <Input {...p} name="principal" defaultValue={values.principal ?? ""} placeholder="user:alice@example.com" autoComplete="off" spellCheck={false} />}
              </Field>
              <div className="flex justify-end">
                <Button type="submit" variant="primary">
                  Show what
                </Button>
              </div>
            </CardBody>
          </form>
        </Card>
      </div>

      <div className="mt-6 space-y-4">
        {failure && failure.code !== "INVALID_ARGUMENT" ? (
          <Alert tone="error" title="You may not see this resource’s access">
            {failure.message}
          </Alert>
        ) : null}
        {view ? (
          <>
            <div className="flex flex-wrap items-center justify-between gap-3">
              <h2 className="text-base font-semibold" id="ea-result">
                {view.mode === "resource" ? (
                  <>
                    {view.distinct} principal{view.distinct === 1 ? "" : "s"} ({view.rows.length} grant{view.rows.length === 1 ? "" : "s"}) for {view.query.resource}
                  </>
                ) : (
                  <>
                    {view.distinct} resource{view.distinct === 1 ? "" : "s"} ({view.rows.length} grant{view.rows.length === 1 ? "" : "s"}) for {view.query.principal}
                  </>
                )}
              </h2>
              {exportHref && view.rows.length > 0 ? (
                <a href={exportHref} download className={buttonClasses({ variant: "secondary" })}>
                  Download CSV
                </a>
              ) : null}
            </div>
            {view.hiddenPolicies > 0 ? (
              <Alert tone="info" live={false}>
                {view.hiddenPolicies} polic{view.hiddenPolicies === 1 ? "y" : "ies"} along the way you may not read {view.hiddenPolicies === 1 ? "is" : "are"} not counted.
              </Alert>
            ) : null}
            {view.rows.length === 0 ? (
              <EmptyState icon="users" title="No grants" description={view.mode === "resource" ? "No binding you may read grants this permission on the resource." : "No binding you may read grants this principal passage anywhere."} />
            ) : (
              <>
                <AccessTable rows={view.rows.slice(0, SHOWN)} subject={view.mode === "resource" ? "principal" : "resource"} caption="Effective access" />
                {view.rows.length > SHOWN ? (
                  <p className="text-sm text-fg-muted">
                    The first {SHOWN} of {view.rows.length} rows; the CSV has them all.
                  </p>
                ) : null}
              </>
            )}
          </>
        ) : null}
      </div>
    </>
  );
}
