"use client";

// Picks a custom role's permissions from the catalogue: a search box over a checkbox list grouped
// by service. Every checkbox stays in the form while filtered out (hidden), so the form submits
// all chosen permissions as `permission` fields.
import { useId, useMemo, useState } from "react";
import { Input } from "@/components/ui/input";

export function PermissionPicker({ permissions, initial, error }: { permissions: string[]; initial: string[]; error: string | null }) {
  const id = useId();
  const [q, setQ] = useState("");
  const [chosen, setChosen] = useState(() => new Set(initial));
  const groups = useMemo(() => {
    const by = new Map<string, string[]>();
    for (const p of permissions) by.set(p.split(".")[0]!, [...(by.get(p.split(".")[0]!) ?? []), p]);
    return [...by];
  }, [permissions]);
  const shown = (p: string) => !q || p.toLowerCase().includes(q.toLowerCase());
  const toggle = (p: string, on: boolean) =>
    setChosen((s) => {
      const next = new Set(s);
      if (on) next.add(p);
      else next.delete(p);
      return next;
    });
  return (
    <fieldset className="space-y-2" aria-describedby={error ? `${id}-error` : undefined}>
      <legend className="text-sm font-medium">
        Permissions <span className="font-normal text-fg-muted">({chosen.size} chosen)</span>
      </legend>
      <label htmlFor={`${id}-search`} className="sr-only">
        Search permissions
      </label>
      <Input id={`${id}-search`} type="search" value={q} onChange={(e) => setQ(e.target.value)} placeholder="Search permissions, e.g. accessViaIAP" autoComplete="off" />
      <div className="h-64 overflow-y-auto rounded-md border border-border bg-surface-2/40 p-2" role="group" aria-label="Permissions">
        {groups.map(([service, list]) => (
          <div key={service} hidden={!list.some(shown)} className="mb-2">
            <p className="px-1 text-xs font-semibold text-fg-subtle uppercase">{service}</p>
            {list.map((p) => (
              <label key={p} hidden={!shown(p)} className="flex items-center gap-2 rounded px-1 py-0.5 font-mono text-xs hover:bg-surface-hover">
                <input type="checkbox" name="permission" value={p} checked={chosen.has(p)} onChange={(e) => toggle(p, e.target.checked)} className="size-3.5 accent-accent" />
                {p}
              </label>
            ))}
          </div>
        ))}
      </div>
      {error ? (
        <p id={`${id}-error`} className="text-xs font-medium text-danger-fg">
          {error}
        </p>
      ) : null}
    </fieldset>
  );
}
