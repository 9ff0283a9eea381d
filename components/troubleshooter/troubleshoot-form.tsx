import { Button, Card, CardBody, Field, Input, inputClasses } from "@/components/ui";
import type { TroubleshootQuery } from "@/lib/console/troubleshooter";

export interface TroubleshootFormProps {
  /** The question as submitted (raw strings, so a rejected value stays in its field). */
  values: Partial<Record<keyof TroubleshootQuery, string>>;
  errors: Partial<Record<string, string>>;
  /** Resources the viewer may troubleshoot, for the resource field's suggestions. */
  resources: string[];
}

const METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

/**
 * The question, as a GET form: submitting puts every field in the URL, so a troubleshooting
 * session is a link that can be shared (and the forward-auth 403 page can prefill it).
 */
export function TroubleshootForm({ values, errors, resources }: TroubleshootFormProps) {
  const text = (name: keyof TroubleshootQuery, label: string, opts: { hint?: string; placeholder?: string; required?: boolean; list?: string; className?: string } = {}) => (
    <Field id={`ts-${name}`} label={label} hint={opts.hint} error={errors[name]} required={opts.required} className={opts.className}>
      {(p) => <Input {...p} name={name} defaultValue={values[name] ?? ""} placeholder={opts.placeholder} list={opts.list} autoComplete="off" spellCheck={false} />}
    </Field>
  );
  return (
    <Card>
      <form method="get" action="/troubleshooter" aria-label="Troubleshoot access">
        <CardBody className="grid gap-4 md:grid-cols-2">
          {text("principal", "Principal", { placeholder: "user:alice@example.com", required: true, hint: "user:EMAIL or serviceAccount:EMAIL (a bare email is a user)" })}
          {text("resource", "Resource", { placeholder: "projects/demo/iap_web/compute/services/web", list: "ts-resources", hint: "Leave empty to find it from the host and path" })}
          <datalist id="ts-resources">
            {resources.map((r) => (
              <option key={r} value={r} />
            ))}
          </datalist>
          {text("host", "Host", { placeholder: "web.example.test" })}
          {text("path", "Path", { placeholder: "/admin" })}
          <Field id="ts-method" label="Method" error={errors.method}>
            {(p) => (
              <select {...p} name="method" defaultValue={values.method ?? "GET"} className={inputClasses}>
                {[...new Set([...(values.method ? [values.method.toUpperCase()] : []), ...METHODS])].map((m) => (
                  <option key={m}>{m}</option>
                ))}
              </select>
            )}
          </Field>
          {text("ip", "Client IP", { placeholder: "203.0.113.7" })}
          {text("region", "Region", { placeholder: "DE", hint: "Two-letter code, as the proxy reports it" })}
          <Field id="ts-time" label="Time (UTC)" hint="Empty: now" error={errors.time}>
            {(p) => <Input {...p} name="time" type="datetime-local" step={1} defaultValue={(values.time ?? "").replace(/(\.\d+)?Z$/, "")} />}
          </Field>
          {text("permission", "Permission", { placeholder: "iap.webServiceVersions.accessViaIAP", hint: "Empty: the permission that grants passage through the resource", className: "md:col-span-2" })}
        </CardBody>
        <div className="flex items-center justify-end gap-2 border-t border-border bg-surface-2/60 px-4 py-3">
          <a href="/troubleshooter" className="rounded-md px-2 text-sm text-fg-muted underline-offset-2 hover:underline focus-visible:outline-2 focus-visible:outline-focus">
            Clear
          </a>
          <Button type="submit" variant="primary">
            Troubleshoot
          </Button>
        </div>
      </form>
    </Card>
  );
}
