"use client";

// Picks principals (member strings) with autocomplete across users, groups, service accounts and
// domains. Chosen principals show as removable chips. A `user:`/`group:`/`serviceAccount:`/
// `domain:` string Gatehouse does not know yet can still be added (typed in full, or an email
// offered as user or group) with a warning: IAM allows granting to an identity before it exists.
import { useEffect, useRef, useState } from "react";
import { Badge } from "@/components/ui/badge";
import { Combobox, type ComboboxOption } from "@/components/ui/combobox";
import { Icon } from "@/components/ui/icon";

export interface PrincipalOption {
  member: string;
  kind: "user" | "group" | "serviceAccount" | "domain";
  label: string;
  disabled?: boolean;
}

export interface PickedPrincipal {
  member: string;
  /** Not known to Gatehouse (typed in): granted anyway, with a warning. */
  unknown: boolean;
}

const KIND_LABEL: Record<PrincipalOption["kind"], string> = { user: "User", group: "Group", serviceAccount: "Service account", domain: "Domain" };
const EMAIL = /^[^\s@:]+@[^\s@:]+\.[^\s@:]+$/;
const MEMBER = /^(user|group|serviceAccount):[^\s@:]+@[^\s@:]+\.[^\s@:]+$|^domain:[^\s@:]+\.[^\s@:]+$/;

export interface PrincipalPickerProps {
  id: string;
  value: PickedPrincipal[];
  onChange: (next: PickedPrincipal[]) => void;
  /** Suggestions for the text typed so far (a server action, typically). */
  search: (query: string) => Promise<PrincipalOption[]>;
  "aria-describedby"?: string;
  "aria-invalid"?: true;
}

export function PrincipalPicker({ id, value, onChange, search, ...aria }: PrincipalPickerProps) {
  const [text, setText] = useState("");
  const [options, setOptions] = useState<PrincipalOption[]>([]);
  const [loading, setLoading] = useState(false);
  const seq = useRef(0);
  const q = text.trim();

  useEffect(() => {
    const mine = ++seq.current;
    const t = setTimeout(() => {
      setLoading(true);
      search(q)
        .then((r) => mine === seq.current && setOptions(r))
        .catch(() => mine === seq.current && setOptions([]))
        .finally(() => mine === seq.current && setLoading(false));
    }, 120);
    return () => clearTimeout(t);
  }, [q, search]);

  const chosen = new Set(value.map((p) => p.member));
  const add = (member: string, unknown: boolean) => {
    if (!chosen.has(member)) onChange([...value, { member, unknown }]);
    setText("");
  };
  const known = new Set(options.map((o) => o.member));
  const lower = q.toLowerCase();
  // What typed text could be, when it is not a known principal.
  const typed: string[] = MEMBER.test(q) ? [q] : EMAIL.test(q) ? [`user:${lower}`, `group:${lower}`] : [];
  const fresh = typed.filter((m) => !known.has(m.toLowerCase()) && !chosen.has(m));

  const comboOptions: ComboboxOption[] = options.map((o) => ({
    value: o.member,
    disabled: chosen.has(o.member),
    content: (
      <span className="flex items-center justify-between gap-3">
        <span className="min-w-0">
          <span className="block truncate font-mono text-xs">{o.member}</span>
          {o.label ? <span className="block truncate text-xs text-fg-subtle">{o.label}</span> : null}
        </span>
        <span className="flex shrink-0 items-center gap-1">
          {o.disabled ? <Badge tone="danger">Disabled</Badge> : null}
          <Badge>{KIND_LABEL[o.kind]}</Badge>
        </span>
      </span>
    ),
  }));
  for (const m of fresh) {
    comboOptions.push({
      value: m,
      content: (
        <span className="flex items-center justify-between gap-3">
          <span className="truncate font-mono text-xs">{m}</span>
          <Badge tone="warning">New {m.startsWith("group:") ? "group" : m.slice(0, m.indexOf(":"))}</Badge>
        </span>
      ),
    });
  }

  return (
    <div className="space-y-2">
      <Combobox
        id={id}
        value={text}
        onChange={setText}
        options={comboOptions}
        loading={loading}
        onPick={(o) => add(o.value, !known.has(o.value))}
        onEnter={(t) => {
          const exact = options.find((o) => o.member === t || o.member.slice(o.member.indexOf(":") + 1) === t.toLowerCase());
          if (exact) add(exact.member, false);
          else if (MEMBER.test(t)) add(t, true);
          // A bare email is taken as a user (the list offers it as a group too).
          else if (EMAIL.test(t)) add(`user:${t.toLowerCase()}`, true);
        }}
        placeholder="Name, email, group or domain"
        emptyText="No principal matches. Type a full email to add someone new."
        {...aria}
      />
      {value.length > 0 ? (
        <ul className="flex flex-wrap gap-1.5" aria-label="Principals to add">
          {value.map((p) => (
            <li key={p.member} className="inline-flex max-w-full items-center gap-1 rounded-md border border-border bg-surface-2 py-0.5 pr-0.5 pl-2 text-xs">
              <span className="truncate font-mono">{p.member}</span>
              {p.unknown ? <Badge tone="warning">new</Badge> : null}
              <button
                type="button"
                onClick={() => onChange(value.filter((x) => x.member !== p.member))}
                className="flex size-5 items-center justify-center rounded text-fg-subtle hover:bg-surface-hover hover:text-fg"
                aria-label={`Remove ${p.member}`}
              >
                <Icon name="x" className="size-3" />
              </button>
            </li>
          ))}
        </ul>
      ) : null}
      {value.some((p) => p.unknown) ? (
        <p className="flex items-start gap-1.5 text-xs text-warning-fg">
          <Icon name="alert-circle" className="mt-0.5 size-3.5" />
          <span>
            {value.filter((p) => p.unknown).map((p) => p.member).join(", ")} {value.filter((p) => p.unknown).length === 1 ? "is" : "are"} not known to Gatehouse yet. The grant
            takes effect once such an account or group exists — check the spelling.
          </span>
        </p>
      ) : null}
    </div>
  );
}
