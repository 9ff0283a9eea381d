"use client";

import { createRoleAction, updateRoleAction } from "@/app/(console)/roles/actions";
import { Field } from "@/components/ui/field";
import { Input } from "@/components/ui/input";
import { Select } from "@/components/ui/select";
import { Textarea } from "@/components/ui/textarea";
import { FormDialog, formText, type FieldErrors } from "@/components/principals/form-dialog";
import type { RoleJson } from "@/lib/admin/roles";
import { PermissionPicker } from "./permission-picker";

const STAGES = ["GA", "BETA", "ALPHA", "EAP", "DEPRECATED", "DISABLED"] as const;

function fieldsOf(form: FormData) {
  return {
    title: formText(form, "title"),
    description: formText(form, "description"),
    stage: formText(form, "stage"),
    includedPermissions: form.getAll("permission").filter((p): p is string => typeof p === "string"),
  };
}

function CommonFields({ error, role, permissions }: { error: FieldErrors; role?: RoleJson; permissions: string[] }) {
  return (
    <>
      <Field id="role-title" label="Title" error={error("role.title") ?? error("title")}>
        {(p) => <Input {...p} name="title" defaultValue={role?.title} maxLength={100} />}
      </Field>
      <Field id="role-description" label="Description" error={error("role.description") ?? error("description")}>
        {(p) => <Textarea {...p} name="description" defaultValue={role?.description} rows={2} maxLength={300} />}
      </Field>
      <Field id="role-stage" label="Stage" hint="A DISABLED role grants nothing where it is bound." error={error("role.stage") ?? error("stage")}>
        {(p) => (
          <Select {...p} name="stage" defaultValue={role?.stage ?? "GA"}>
            {STAGES.map((s) => (
              <option key={s}>{s}</option>
            ))}
          </Select>
        )}
      </Field>
      <PermissionPicker permissions={permissions} initial={role?.includedPermissions ?? []} error={error("role.includedPermissions") ?? error("includedPermissions")} />
    </>
  );
}

export function CreateRoleButton({ parents, permissions }: { parents: string[]; permissions: string[] }) {
  return (
    <FormDialog
      triggerLabel="Create role"
      title="Create custom role"
      description="A custom role bundles permissions. You can only put in it permissions you hold yourself where it lives."
      submitLabel="Create role"
      size="lg"
      fieldNames={["parent", "roleId", "role", "title", "description", "stage", "includedPermissions"]}
      action={(f) => {
        const { stage, ...rest } = fieldsOf(f);
        return createRoleAction(formText(f, "parent"), { roleId: formText(f, "roleId"), role: { ...rest, ...(stage ? { stage } : {}) } });
      }}
      then={(v) => `/roles/${v.name}`}
      fields={(error) => (
        <>
          <div className="grid gap-4 sm:grid-cols-2">
            <Field id="role-parent" label="Lives in" required error={error("parent")}>
              {(p) => (
                <Select {...p} name="parent" defaultValue={parents[0]}>
                  {parents.map((x) => (
                    <option key={x}>{x}</option>
                  ))}
                </Select>
              )}
            </Field>
            <Field id="role-id" label="Role id" required hint="3–64 letters, digits, underscores or dots" error={error("roleId")}>
              {(p) => <Input {...p} name="roleId" autoComplete="off" autoFocus />}
            </Field>
          </div>
          <CommonFields error={error} permissions={permissions} />
        </>
      )}
    />
  );
}

export function EditRoleButton({ role, permissions }: { role: RoleJson; permissions: string[] }) {
  return (
    <FormDialog
      triggerLabel="Edit role"
      triggerVariant="secondary"
      title={`Edit ${role.name}`}
      description="Adding permissions to a role that is bound grants them wherever it is bound: you must hold them there yourself."
      submitLabel="Save"
      size="lg"
      fieldNames={["title", "description", "stage", "includedPermissions", "etag"]}
      action={(f) => updateRoleAction(role.name, { ...fieldsOf(f), etag: role.etag })}
      fields={(error) => <CommonFields error={error} role={role} permissions={permissions} />}
    />
  );
}
