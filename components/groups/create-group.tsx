"use client";

import { createGroupAction } from "@/app/(console)/groups/actions";
import { Field } from "@/components/ui/field";
import { Input } from "@/components/ui/input";
import { Textarea } from "@/components/ui/textarea";
import { FormDialog, formText } from "@/components/principals/form-dialog";

export function CreateGroupButton() {
  return (
    <FormDialog
      triggerLabel="Create group"
      title="Create group"
      description="A group collects users, service accounts and other groups, so a role is granted once to the group."
      submitLabel="Create group"
      fieldNames={["email", "groupKey", "displayName", "description"]}
      action={(f) => createGroupAction({ email: formText(f, "email"), displayName: formText(f, "displayName"), description: formText(f, "description") })}
      then={(v) => `/groups/${encodeURIComponent(v.email)}`}
      fields={(error) => (
        <>
          <Field id="group-email" label="Group email" required error={error("email") ?? error("groupKey")} hint="The group's address, e.g. sre@example.com. It cannot change later.">
            {(p) => <Input {...p} name="email" type="email" autoComplete="off" autoFocus />}
          </Field>
          <Field id="group-name" label="Display name" error={error("displayName")}>
            {(p) => <Input {...p} name="displayName" maxLength={100} />}
          </Field>
          <Field id="group-description" label="Description" error={error("description")}>
            {(p) => <Textarea {...p} name="description" rows={3} />}
          </Field>
        </>
      )}
    />
  );
}
