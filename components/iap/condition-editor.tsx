"use client";

// The add-principal dialog's condition: none, built from choices (host, path, time, hours, days,
// access levels), or raw CEL. Either way the expression is checked live by the core's compiler
// (checkConditionAction) and an error is shown with its line, column and a caret under the spot.
import { useEffect, useRef, useState } from "react";
import { checkConditionAction } from "@/app/(console)/iap/actions";
import { cn } from "@/components/ui/cn";
import { Field } from "@/components/ui/field";
import { inputClasses } from "@/components/ui/input";
import { buildExpression, DAY_NAMES, suggestTitle, type ConditionChoices } from "@/lib/console/iap-condition";
import type { ConditionCheck } from "@/lib/console/iap-edit";

export type ConditionMode = "none" | "build" | "cel";

export interface ConditionState {
  mode: ConditionMode;
  choices: ConditionChoices;
  cel: string;
  title: string;
  /** The title was typed by the admin (no longer follows the choices). */
  titleEdited: boolean;
}

/** The condition the state describes, as IAM writes it (undefined: no condition). */
export function conditionOf(s: ConditionState): { title: string; expression: string } | undefined {
  if (s.mode === "none") return undefined;
  const expression = s.mode === "cel" ? s.cel.trim() : (buildExpression(s.choices) ?? "");
  return { title: s.title.trim() || (s.mode === "build" ? suggestTitle(s.choices) : ""), expression };
}

const split = (s: string) => s.split(/[\s,]+/).filter(Boolean);

export function ConditionEditor({
  state,
  onChange,
  accessLevels,
  errors,
}: {
  state: ConditionState;
  onChange: (s: ConditionState) => void;
  accessLevels: ReadonlyArray<{ name: string; title: string }>;
  errors: { title?: string | null; expression?: string | null };
}) {
  const [hostsText, setHostsText] = useState(state.choices.hosts.join(", "));
  const [pathsText, setPathsText] = useState(state.choices.pathPrefixes.join(", "));
  const set = (patch: Partial<ConditionState>) => onChange({ ...state, ...patch });
  const setChoices = (patch: Partial<ConditionChoices>) => {
    const choices = { ...state.choices, ...patch };
    onChange({ ...state, choices, ...(state.titleEdited ? {} : { title: suggestTitle(choices) }) });
  };
  const expression = conditionOf(state)?.expression ?? "";
  const check = useLiveCheck(state.mode === "none" ? "" : expression);

  return (
    <fieldset className="space-y-3">
      <legend className="mb-1.5 text-sm font-medium text-fg">Condition</legend>
      <div className="flex flex-wrap gap-x-4 gap-y-1 text-sm" role="radiogroup" aria-label="Condition">
        {(
          [
            ["none", "None (always)"],
            ["build", "Only when…"],
            ["cel", "CEL expression"],
          ] as const
        ).map(([mode, label]) => (
          <label key={mode} className="flex items-center gap-1.5">
            <input
              type="radio"
              name="condition-mode"
              value={mode}
              checked={state.mode === mode}
              onChange={() => set(mode === "cel" && !state.cel ? { mode, cel: buildExpression(state.choices) ?? "" } : { mode })}
              className="accent-accent"
            />
            {label}
          </label>
        ))}
      </div>

      {state.mode === "build" ? (
        <div className="grid gap-3 rounded-md border border-border bg-surface-2/50 p-3 sm:grid-cols-2">
          <Field id="cond-paths" label="Path starts with" hint="e.g. /docs — several separated by commas">
            {(p) => (
              <input
                {...p}
                className={inputClasses}
                value={pathsText}
                placeholder="/docs"
                onChange={(e) => {
                  setPathsText(e.target.value);
                  setChoices({ pathPrefixes: split(e.target.value) });
                }}
              />
            )}
          </Field>
          <Field id="cond-hosts" label="Host is" hint="Only requests to these hosts">
            {(p) => (
              <input
                {...p}
                className={inputClasses}
                value={hostsText}
                placeholder="app.example.com"
                onChange={(e) => {
                  setHostsText(e.target.value);
                  setChoices({ hosts: split(e.target.value) });
                }}
              />
            )}
          </Field>
          <Field id="cond-not-before" label="From (UTC)">
            {(p) => (
              <input
                {...p}
                type="datetime-local"
                className={inputClasses}
                value={state.choices.notBefore?.slice(0, 16) ?? ""}
                onChange={(e) => setChoices({ notBefore: e.target.value ? `${e.target.value}:00Z` : undefined })}
              />
            )}
          </Field>
          <Field id="cond-not-after" label="Until (UTC)" hint="Access expires at this time">
            {(p) => (
              <input
                {...p}
                type="datetime-local"
                className={inputClasses}
                value={state.choices.notAfter?.slice(0, 16) ?? ""}
                onChange={(e) => setChoices({ notAfter: e.target.value ? `${e.target.value}:00Z` : undefined })}
              />
            )}
          </Field>
          <fieldset className="sm:col-span-2">
            <legend className="mb-1.5 text-sm font-medium text-fg">Days and hours</legend>
            <div className="flex flex-wrap items-center gap-x-3 gap-y-2 text-sm">
              {DAY_NAMES.map((d, i) => (
                <label key={d} className="flex items-center gap-1">
                  <input
                    type="checkbox"
                    className="accent-accent"
                    checked={state.choices.days.includes(i)}
                    onChange={(e) => setChoices({ days: e.target.checked ? [...state.choices.days, i] : state.choices.days.filter((x) => x !== i) })}
                  />
                  <span>{d.slice(0, 3)}</span>
                  <span className="sr-only">{d}</span>
                </label>
              ))}
            </div>
            <div className="mt-2 flex flex-wrap items-end gap-2">
              <HourSelect id="cond-hour-from" label="From hour" value={state.choices.hours?.from} onChange={(v) => setChoices({ hours: v === undefined ? undefined : { from: v, until: state.choices.hours?.until ?? 24 } })} />
              <HourSelect id="cond-hour-until" label="Until hour" max={24} value={state.choices.hours?.until} onChange={(v) => setChoices({ hours: v === undefined ? undefined : { from: state.choices.hours?.from ?? 0, until: v } })} />
              <Field id="cond-tz" label="Time zone" className="min-w-40 flex-1">
                {(p) => <input {...p} className={inputClasses} value={state.choices.timeZone ?? ""} placeholder="UTC" onChange={(e) => setChoices({ timeZone: e.target.value || undefined })} />}
              </Field>
            </div>
          </fieldset>
          {accessLevels.length > 0 ? (
            <fieldset className="sm:col-span-2">
              <legend className="mb-1.5 text-sm font-medium text-fg">Access levels (all required)</legend>
              <div className="flex flex-wrap gap-x-4 gap-y-1 text-sm">
                {accessLevels.map((l) => (
                  <label key={l.name} className="flex items-center gap-1.5" title={l.name}>
                    <input
                      type="checkbox"
                      className="accent-accent"
                      checked={state.choices.accessLevels.includes(l.name)}
                      onChange={(e) => setChoices({ accessLevels: e.target.checked ? [...state.choices.accessLevels, l.name] : state.choices.accessLevels.filter((x) => x !== l.name) })}
                    />
                    {l.title}
                  </label>
                ))}
              </div>
            </fieldset>
          ) : null}
        </div>
      ) : null}

      {state.mode === "cel" ? (
        <Field id="cond-cel" label="Expression" hint="Attributes: request.host, request.path, request.method, request.time, request.auth.access_levels, resource.name…">
          {(p) => (
            <textarea
              {...p}
              aria-invalid={check?.ok === false || errors.expression ? true : undefined}
              aria-describedby={[p["aria-describedby"], "cond-check"].filter(Boolean).join(" ")}
              rows={3}
              spellCheck={false}
              className={cn(inputClasses, "h-auto py-1.5 font-mono text-xs")}
              value={state.cel}
              onChange={(e) => set({ cel: e.target.value })}
            />
          )}
        </Field>
      ) : null}

      {state.mode !== "none" ? (
        <>
          <div id="cond-check" aria-live="polite" className="min-h-5 text-xs">
            {!expression ? (
              <span className="text-fg-subtle">{state.mode === "build" ? "Choose at least one restriction above." : "Write an expression."}</span>
            ) : check === null ? (
              <span className="text-fg-subtle">Checking…</span>
            ) : check.ok ? (
              <span className="text-success-fg">Valid condition.</span>
            ) : (
              <CheckErrors expression={expression} check={check} />
            )}
            {errors.expression && check?.ok !== false ? <p className="font-medium text-danger-fg">{errors.expression}</p> : null}
          </div>
          {state.mode === "build" && expression ? (
            <p className="text-xs text-fg-muted">
              CEL: <code className="font-mono break-all text-fg">{expression}</code>
            </p>
          ) : null}
          <Field id="cond-title" label="Condition title" required error={errors.title} hint="Shown next to the grant in the panel and in audit logs">
            {(p) => <input {...p} className={inputClasses} maxLength={100} value={state.title} onChange={(e) => set({ title: e.target.value, titleEdited: true })} />}
          </Field>
        </>
      ) : null}
    </fieldset>
  );
}

function HourSelect({ id, label, value, onChange, max = 23 }: { id: string; label: string; value: number | undefined; onChange: (v: number | undefined) => void; max?: number }) {
  return (
    <Field id={id} label={label}>
      {(p) => (
        <select {...p} className={cn(inputClasses, "w-28")} value={value ?? ""} onChange={(e) => onChange(e.target.value === "" ? undefined : Number(e.target.value))}>
          <option value="">Any</option>
          {Array.from({ length: max + 1 }, (_, h) => (
            <option key={h} value={h}>
              {String(h).padStart(2, "0")}:00
            </option>
          ))}
        </select>
      )}
    </Field>
  );
}

/** Each error with its position, and the offending line with a caret under the column. */
function CheckErrors({ expression, check }: { expression: string; check: ConditionCheck }) {
  return (
    <ul className="space-y-1 text-danger-fg">
      {check.errors.map((e, i) => {
        const line = e.line !== undefined ? expression.split("\n")[e.line - 1] : undefined;
        return (
          <li key={i}>
            <p className="font-medium">
              {e.line !== undefined ? `Line ${e.line}, column ${e.column}: ` : ""}
              {e.message}
            </p>
            {line !== undefined && e.column !== undefined ? (
              <pre aria-hidden="true" className="mt-0.5 overflow-x-auto rounded bg-danger-soft px-2 py-1 font-mono text-xs">
                {line}
                {"\n"}
                {" ".repeat(Math.max(0, e.column - 1))}^
              </pre>
            ) : null}
          </li>
        );
      })}
    </ul>
  );
}

/** The core's verdict on `expression`, debounced; null while unknown. */
function useLiveCheck(expression: string): ConditionCheck | null {
  const [result, setResult] = useState<{ expression: string; check: ConditionCheck } | null>(null);
  const seq = useRef(0);
  useEffect(() => {
    if (!expression) return;
    const mine = ++seq.current;
    const t = setTimeout(() => {
      void checkConditionAction(expression).then((r) => {
        if (mine === seq.current && r.ok) setResult({ expression, check: r.value });
      });
    }, 150);
    return () => clearTimeout(t);
  }, [expression]);
  return result?.expression === expression ? result.check : null;
}
