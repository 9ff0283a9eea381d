"use client";

// Add principal: who (autocomplete across users, groups, service accounts and domains), which role
// (default IAP-secured Web App User), and optionally when (a condition). One submit grants it on
// every selected resource the viewer may edit, each with the etag its policy was read with.
import { useCallback, useState, useTransition } from "react";
import { addPrincipalsAction, searchPrincipalsAction } from "@/app/(console)/iap/actions";
import { PrincipalPicker, type PickedPrincipal } from "@/components/principals/principal-picker";
import { Alert } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import { cn } from "@/components/ui/cn";
import { Dialog } from "@/components/ui/dialog";
import { Field } from "@/components/ui/field";
import { inputClasses } from "@/components/ui/input";
import { EMPTY_CHOICES } from "@/lib/console/iap-condition";
import { fieldError, type ActionResult } from "@/lib/console/action-result";
import type { EditResult } from "@/lib/console/iap-edit";
import { IAP_ROLE, type IapPanelView, type PanelTarget } from "@/lib/console/iap-view";
import { ConditionEditor, conditionOf, type ConditionState } from "./condition-editor";

const INITIAL_CONDITION: ConditionState = { mode: "none", choices: EMPTY_CHOICES, cel: "", title: "", titleEdited: false };

export function AddPrincipalDialog({
  open,
  onClose,
  targets,
  view,
  onDone,
}: {
  open: boolean;
  onClose: () => void;
  targets: PanelTarget[];
  view: Pick<IapPanelView, "grantableRoles" | "accessLevels">;
  onDone: (r: EditResult, summary: string) => void;
}) {
  const [members, setMembers] = useState<PickedPrincipal[]>([]);
  const [role, setRole] = useState(IAP_ROLE);
  const [condition, setCondition] = useState<ConditionState>(INITIAL_CONDITION);
  const [result, setResult] = useState<ActionResult<EditResult> | null>(null);
  const [pending, start] = useTransition();
  const editable = targets.filter((t) => t.canEdit && t.etag);
  const searchResource = editable[0]?.name ?? "";

  const search = useCallback(
    async (q: string) => {
      const r = await searchPrincipalsAction(searchResource, q);
      return r.ok ? r.value : [];
    },
    [searchResource],
  );

  const reset = () => {
    setMembers([]);
    setRole(IAP_ROLE);
    setCondition(INITIAL_CONDITION);
    setResult(null);
  };
  const close = () => {
    if (pending) return;
    reset();
    onClose();
  };

  const submit = () => {
    const cond = conditionOf(condition);
    start(async () => {
      const r = await addPrincipalsAction({
        targets: editable.map((t) => ({ resource: t.name, etag: t.etag })),
        members: members.map((m) => m.member),
        role,
        ...(cond ? { condition: cond } : {}),
      });
      setResult(r);
      if (r.ok) {
        const roleTitle = view.grantableRoles.find((x) => x.name === role)?.title ?? role;
        onDone(r.value, `${members.map((m) => m.member).join(", ")} ${members.length === 1 ? "now holds" : "now hold"} ${roleTitle}${cond ? ` when “${cond.title}”` : ""}.`);
        // On a conflict the panel shows the other change; the form keeps its choices for a retry after the reload.
        if (!r.value.conflict) reset();
        onClose();
      }
    });
  };

  const err = (field: string) => fieldError(result ?? undefined, field);
  const membersError = err("members");
  const formError = result && !result.ok && !membersError && !err("role") && !err("condition") ? result.message : null;

  return (
    <Dialog
      open={open}
      onClose={close}
      size="lg"
      title="Add principals"
      description={
        editable.length === 1 ? (
          <>
            Grant a role on <span className="font-mono text-xs">{editable[0]!.name}</span>.
          </>
        ) : (
          `Grant a role on the ${editable.length} selected resources you may edit.`
        )
      }
      footer={
        <>
          <Button onClick={close} disabled={pending}>
            Cancel
          </Button>
          <Button variant="primary" onClick={submit} loading={pending} disabled={members.length === 0}>
            Save
          </Button>
        </>
      }
    >
      <form
        className="space-y-4"
        onSubmit={(e) => {
          e.preventDefault();
          submit();
        }}
      >
        <Field id="add-members" label="New principals" required error={membersError} hint="Users, groups, service accounts or a domain. Press Enter to add a full email that is not listed.">
          {(p) => <PrincipalPicker id={p.id} aria-describedby={p["aria-describedby"]} aria-invalid={p["aria-invalid"]} value={members} onChange={setMembers} search={search} />}
        </Field>
        <Field id="add-role" label="Role" required error={err("role")}>
          {(p) => (
            <select {...p} className={cn(inputClasses, "max-w-md")} value={role} onChange={(e) => setRole(e.target.value)}>
              {view.grantableRoles.map((r) => (
                <option key={r.name} value={r.name}>
                  {r.title} ({r.name})
                </option>
              ))}
            </select>
          )}
        </Field>
        <ConditionEditor state={condition} onChange={setCondition} accessLevels={view.accessLevels} errors={{ title: err("condition.title"), expression: err("condition.expression") }} />
        {formError ? <Alert tone="error">{formError}</Alert> : null}
      </form>
    </Dialog>
  );
}
