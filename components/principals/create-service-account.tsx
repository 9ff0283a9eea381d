"use client";

import { createServiceAccountAction } from "@/app/(console)/principals/actions";
import { Field } from "@/components/ui/field";
import { Input } from "@/components/ui/input";
import { Select } from "@/components/ui/select";
import { Textarea } from "@/components/ui/textarea";
import { FormDialog, formText } from "./form-dialog";

export function CreateServiceAccountButton({ projects }: { projects: string[] }) {
  return (
    <FormDialog
      triggerLabel="Create service account"
      title="Create service account"
      description="A service account is an identity for software: it signs in with keys and is granted roles like any principal."
      submitLabel="Create"
      fieldNames={["project", "accountId", "displayName", "description"]}
      action={(f) =>
        createServiceAccountAction(formText(f, "project"), {
          accountId: formText(f, "accountId"),
          ...(formText(f, "displayName") ? { displayName: formText(f, "displayName") } : {}),
          ...(formText(f, "description") ? { description: formText(f, "description") } : {}),
        })
      }
      then={(v) => `/principals/${encodeURIComponent(`serviceAccount:${v.email}`)}`}
      fields={(error) => (
        <>
          <Field id="sa-project" label="Project" required error={error("project")}>
            {(p) => (
              <Select {...p} name="project" defaultValue={projects[0]}>
                {projects.map((id) => (
                  <option key={id} value={id}>
                    {id}
                  </option>
                ))}
              </Select>
            )}
          </Field>
          <Field id="sa-id" label="Account id" required error={error("accountId")} hint="6–30 lower-case letters, digits or hyphens: ID@PROJECT.iam.gserviceaccount.com">
            {(p) => <Input {...p} name="accountId" autoComplete="off" autoFocus />}
          </Field>
          <Field id="sa-name" label="Display name" error={error("displayName")}>
            {(p) => <Input {...p} name="displayName" maxLength={100} />}
          </Field>
          <Field id="sa-description" label="Description" error={error("description")}>
            {(p) => <Textarea {...p} name="description" rows={2} />}
          </Field>
        </>
      )}
    />
  );
}
