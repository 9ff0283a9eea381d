"use client";

// Adds a member to a group: a member string (user:, serviceAccount:, group:) typed or picked from
// the known principals; lib/admin refuses a cycle, an escalation or an unknown group, and its
// message shows next to the field.
import { useRouter } from "next/navigation";
import { useId, useState, useTransition } from "react";
import { addGroupMemberAction } from "@/app/(console)/groups/actions";
import { Button } from "@/components/ui/button";
import { Input } from "@/components/ui/input";
import type { ActionResult } from "@/lib/console/admin";

const MEMBER = /^(user|serviceAccount|group):[^\s@]+@[^\s@]+$/;

export function AddMemberForm({ group, suggestions }: { group: string; suggestions: string[] }) {
  const router = useRouter();
  const listId = useId();
  const [value, setValue] = useState("");
  const [result, setResult] = useState<ActionResult | null>(null);
  const [local, setLocal] = useState<string | null>(null);
  const [pending, start] = useTransition();
  const submit = () => {
    const member = value.trim();
    if (!MEMBER.test(member)) {
      setLocal("Give a member string: user:EMAIL, serviceAccount:EMAIL or group:EMAIL.");
      return;
    }
    setLocal(null);
    start(async () => {
      const r = await addGroupMemberAction(group, member);
      setResult(r);
      if (r.ok) {
        setValue("");
        router.refresh();
      }
    });
  };
  const error = local ?? (result && !result.ok ? result.message : null);
  return (
    <form
      className="flex flex-wrap items-start gap-2"
      onSubmit={(e) => {
        e.preventDefault();
        submit();
      }}
    >
      <div className="min-w-64 flex-1 space-y-1">
        <label htmlFor="add-member" className="sr-only">
          Member to add
        </label>
        <Input
          id="add-member"
          name="member"
          list={listId}
          value={value}
          onChange={(e) => setValue(e.target.value)}
          placeholder="user:dana@example.com, group:sre@example.com…"
          autoComplete="off"
          aria-invalid={error ? true : undefined}
          aria-describedby={error ? "add-member-error" : undefined}
        />
        <datalist id={listId}>
          {suggestions.map((s) => (
            <option key={s} value={s} />
          ))}
        </datalist>
        <p id="add-member-error" role={error ? "alert" : undefined} className="min-h-4 text-xs font-medium text-danger-fg">
          {error}
        </p>
      </div>
      <Button type="submit" variant="primary" loading={pending}>
        Add member
      </Button>
    </form>
  );
}
