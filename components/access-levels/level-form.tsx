"use client";

// Create or edit an access level: basic (conditions over IP ranges, regions, members and required
// levels, each negatable, combined with AND or OR) or custom (a CEL expression). lib/admin
// validates everything (CIDRs, region codes, members, CEL, required levels and their cycles) and
// each of its errors shows next to the field it names (errors about a whole condition, such as an
// empty one, show above the buttons).
import { useState } from "react";
import { createAccessLevelAction, updateAccessLevelAction } from "@/app/(console)/access-levels/actions";
import { Button } from "@/components/ui/button";
import { Field } from "@/components/ui/field";
import { Input } from "@/components/ui/input";
import { Select } from "@/components/ui/select";
import { Textarea } from "@/components/ui/textarea";
import { FormDialog, formText, type FieldErrors } from "@/components/principals/form-dialog";
import type { AccessLevelJson } from "@/lib/admin/access-levels";

type Condition = NonNullable<AccessLevelJson["basic"]>["conditions"][number];

/** Items of a list typed one per line or separated by commas. */
const items = (s: string) =>
  s
    .split(/[\n,]/)
    .map((x) => x.trim())
    .filter(Boolean);

/** The level as lib/admin takes it, from the form's fields. */
function levelOf(form: FormData): Omit<AccessLevelJson, "name"> {
  const base = { title: formText(form, "title"), description: formText(form, "description") };
  if (formText(form, "kind") === "custom") return { ...base, custom: { expr: { expression: formText(form, "expression") } } };
  const conditions = form.getAll("condition").map((id) => {
    const c: Condition = {};
    const ip = items(formText(form, `${id}.ip`));
    const regions = items(formText(form, `${id}.regions`));
    const members = items(formText(form, `${id}.members`));
    const required = items(formText(form, `${id}.required`));
    if (ip.length) c.ipSubnetworks = ip;
    if (regions.length) c.regions = regions;
    if (members.length) c.members = members;
    if (required.length) c.requiredAccessLevels = required;
    if (form.get(`${id}.negate`) === "on") c.negate = true;
    return c;
  });
  return { ...base, basic: { combiningFunction: formText(form, "combining") === "OR" ? "OR" : "AND", conditions } };
}

function LevelFields({ error, level, levels }: { error: FieldErrors; level?: AccessLevelJson; levels: string[] }) {
  const [kind, setKind] = useState<"basic" | "custom">(level?.custom ? "custom" : "basic");
  const initial = level?.basic?.conditions ?? [{}];
  const [rows, setRows] = useState(() => initial.map((c, i) => ({ id: `c${i}`, c })));
  const [next, setNext] = useState(initial.length);
  // zod names array items "a.0.b", the core "a[0].b": look for both.
  const condError = (i: number, f: string) => error(`basic.conditions[${i}].${f}`) ?? error(`basic.conditions.${i}.${f}`);
  const others = levels.filter((l) => l !== level?.name);
  return (
    <>
      <Field id="level-title" label="Title" error={error("title")}>
        {(p) => <Input {...p} name="title" defaultValue={level?.title} maxLength={100} />}
      </Field>
      <Field id="level-description" label="Description" error={error("description")}>
        {(p) => <Textarea {...p} name="description" defaultValue={level?.description} rows={2} />}
      </Field>
      <fieldset className="space-y-1.5">
        <legend className="text-sm font-medium">Kind</legend>
        <div className="flex gap-4 text-sm">
          {(["basic", "custom"] as const).map((k) => (
            <label key={k} className="flex items-center gap-1.5">
              <input type="radio" name="kind" value={k} checked={kind === k} onChange={() => setKind(k)} className="accent-accent" />
              {k === "basic" ? "Basic (conditions)" : "Custom (CEL)"}
            </label>
          ))}
        </div>
      </fieldset>
      {kind === "custom" ? (
        <Field id="level-expression" label="CEL expression" required error={error("custom")} hint={<>e.g. <code>request.auth.access_levels.size() &gt; 0</code> or <code>inIpRange(origin.ip, &apos;10.0.0.0/8&apos;)</code> — as Access Context Manager&apos;s custom levels.</>}>
          {(p) => <Textarea {...p} name="expression" mono rows={4} defaultValue={level?.custom?.expr.expression} />}
        </Field>
      ) : (
        <>
          <Field id="level-combining" label="Combine conditions with" error={error("basic.combiningFunction")} hint="AND: every condition must hold; OR: at least one.">
            {(p) => (
              <Select {...p} name="combining" defaultValue={level?.basic?.combiningFunction ?? "AND"} className="w-40">
                <option value="AND">AND</option>
                <option value="OR">OR</option>
              </Select>
            )}
          </Field>
          {rows.map(({ id, c }, i) => (
            <fieldset key={id} className="space-y-3 rounded-md border border-border p-3">
              <input type="hidden" name="condition" value={id} />
              <legend className="px-1 text-sm font-medium">Condition {i + 1}</legend>
              <div className="grid gap-3 sm:grid-cols-2">
                <Field id={`${id}-ip`} label="IP ranges (CIDR)" hint="One per line, e.g. 10.0.0.0/8" error={condError(i, "ipSubnetworks")}>
                  {(p) => <Textarea {...p} name={`${id}.ip`} mono rows={2} defaultValue={c.ipSubnetworks?.join("\n")} />}
                </Field>
                <Field id={`${id}-regions`} label="Regions" hint="ISO 3166-1 codes, e.g. DE, FR" error={condError(i, "regions")}>
                  {(p) => <Input {...p} name={`${id}.regions`} defaultValue={c.regions?.join(", ")} />}
                </Field>
                <Field id={`${id}-members`} label="Members" hint="user: or serviceAccount:, one per line" error={condError(i, "members")}>
                  {(p) => <Textarea {...p} name={`${id}.members`} mono rows={2} defaultValue={c.members?.join("\n")} />}
                </Field>
                <Field id={`${id}-required`} label="Required levels" hint={others.length ? `Full names, one per line: ${others.slice(0, 2).join(", ")}` : "Full names of other levels, one per line"} error={condError(i, "requiredAccessLevels")}>
                  {(p) => <Textarea {...p} name={`${id}.required`} mono rows={2} defaultValue={c.requiredAccessLevels?.join("\n")} />}
                </Field>
              </div>
              <div className="flex items-center justify-between">
                <label className="flex items-center gap-2 text-sm">
                  <input type="checkbox" name={`${id}.negate`} defaultChecked={c.negate} className="accent-accent" />
                  Negate (the condition holds when these do not)
                </label>
                {rows.length > 1 ? (
                  <Button size="sm" variant="ghost" onClick={() => setRows((r) => r.filter((x) => x.id !== id))}>
                    Remove condition {i + 1}
                  </Button>
                ) : null}
              </div>
            </fieldset>
          ))}
          <Button
            size="sm"
            onClick={() => {
              setRows((r) => [...r, { id: `c${next}`, c: {} }]);
              setNext((n) => n + 1);
            }}
          >
            Add condition
          </Button>
        </>
      )}
    </>
  );
}

export function CreateLevelButton({ levels, policy }: { levels: string[]; policy: string }) {
  return (
    <FormDialog
      triggerLabel="Create access level"
      title="Create access level"
      description="An access level describes a request context (network, region, who). Bindings' conditions test it with request.auth.access_levels."
      submitLabel="Create"
      size="lg"
      fieldNames={["name", "title", "description", "custom"]}
      action={(f) => createAccessLevelAction({ name: `accessPolicies/${formText(f, "policy")}/accessLevels/${formText(f, "levelId")}`, ...levelOf(f) })}
      fields={(error) => (
        <>
          <div className="grid gap-4 sm:grid-cols-2">
            <Field id="level-policy" label="Access policy" required error={null}>
              {(p) => <Input {...p} name="policy" defaultValue={policy} />}
            </Field>
            <Field id="level-id" label="Level id" required hint="1–50 letters, digits or underscores" error={error("name")}>
              {(p) => <Input {...p} name="levelId" autoComplete="off" autoFocus />}
            </Field>
          </div>
          <LevelFields error={error} levels={levels} />
        </>
      )}
    />
  );
}

export function EditLevelButton({ level, levels }: { level: AccessLevelJson; levels: string[] }) {
  return (
    <FormDialog
      triggerLabel="Edit"
      triggerVariant="ghost"
      triggerSize="sm"
      triggerAriaLabel={`Edit ${level.name}`}
      title={`Edit ${level.name}`}
      submitLabel="Save"
      size="lg"
      fieldNames={["title", "description", "custom"]}
      action={(f) => updateAccessLevelAction(level.name, levelOf(f))}
      fields={(error) => <LevelFields error={error} level={level} levels={levels} />}
    />
  );
}
