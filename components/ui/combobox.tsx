"use client";

// An accessible autocomplete (WAI-ARIA 1.2 combobox with a listbox popup): the input keeps focus,
// ↑/↓ move the active option (aria-activedescendant), Enter picks it, Escape closes the list (a
// second Escape clears the text), Tab leaves. Options come from the caller (`options`), typically
// loaded for the current text; `onPick` receives the chosen one. Enter without an active option
// hands the raw text to `onEnter` (e.g. to accept a value that is not in the list).
import { useId, useState, type KeyboardEvent, type ReactNode } from "react";
import { cn } from "./cn";
import { inputClasses } from "./input";
import { Spinner } from "./spinner";

export interface ComboboxOption {
  /** Unique value; also what is announced. */
  value: string;
  /** What the option shows (defaults to `value`). */
  content?: ReactNode;
  disabled?: boolean;
}

export interface ComboboxProps {
  id?: string;
  value: string;
  onChange: (text: string) => void;
  options: readonly ComboboxOption[];
  onPick: (option: ComboboxOption) => void;
  onEnter?: (text: string) => void;
  loading?: boolean;
  placeholder?: string;
  /** Shown in the open list when there is text but no option. */
  emptyText?: ReactNode;
  /** Extra content at the end of the open list (e.g. "add this new address"). */
  footer?: ReactNode;
  "aria-describedby"?: string;
  "aria-invalid"?: true;
  "aria-label"?: string;
  className?: string;
}

export function Combobox({ id, value, onChange, options, onPick, onEnter, loading, placeholder, emptyText, footer, className, ...aria }: ComboboxProps) {
  const auto = useId();
  const inputId = id ?? `${auto}-input`;
  const listId = `${auto}-list`;
  const [open, setOpen] = useState(false);
  const [active, setActive] = useState(-1);
  const enabled = options.filter((o) => !o.disabled);
  const activeOption = active >= 0 ? enabled[active] : undefined;
  const optionId = (i: number) => `${auto}-opt-${i}`;
  const expanded = open && (options.length > 0 || Boolean(value.trim() && (emptyText || footer)));

  const pick = (o: ComboboxOption) => {
    onPick(o);
    setActive(-1);
    setOpen(false);
  };

  const onKeyDown = (e: KeyboardEvent<HTMLInputElement>) => {
    if (e.key === "ArrowDown") {
      e.preventDefault();
      setOpen(true);
      setActive((a) => (enabled.length ? (a + 1) % enabled.length : -1));
    } else if (e.key === "ArrowUp") {
      e.preventDefault();
      setOpen(true);
      setActive((a) => (enabled.length ? (a <= 0 ? enabled.length - 1 : a - 1) : -1));
    } else if (e.key === "Enter") {
      if (open && activeOption) {
        e.preventDefault();
        pick(activeOption);
      } else if (onEnter && value.trim()) {
        e.preventDefault();
        onEnter(value.trim());
        setOpen(false);
      }
    } else if (e.key === "Escape") {
      if (expanded) {
        e.preventDefault();
        e.stopPropagation();
        setOpen(false);
        setActive(-1);
      } else if (value) {
        e.preventDefault();
        e.stopPropagation();
        onChange("");
      }
    }
  };

  return (
    <div className={cn("relative", className)}>
      <input
        id={inputId}
        type="text"
        role="combobox"
        aria-expanded={expanded}
        aria-controls={listId}
        aria-autocomplete="list"
        aria-activedescendant={expanded && activeOption ? optionId(enabled.indexOf(activeOption)) : undefined}
        autoComplete="off"
        spellCheck={false}
        value={value}
        placeholder={placeholder}
        onChange={(e) => {
          onChange(e.target.value);
          setOpen(true);
          setActive(-1);
        }}
        onFocus={() => setOpen(true)}
        onBlur={() => setOpen(false)}
        onKeyDown={onKeyDown}
        className={cn(inputClasses, "pr-8")}
        {...aria}
      />
      {loading ? <Spinner size="sm" className="absolute top-1/2 right-2.5 -translate-y-1/2 text-fg-subtle" /> : null}
      <div
        className={cn(
          "absolute top-full right-0 left-0 z-20 mt-1 max-h-72 overflow-y-auto rounded-md border border-border bg-surface py-1 shadow-lg",
          !expanded && "hidden",
        )}
      >
        <ul id={listId} role="listbox" aria-label="Suggestions">
          {options.map((o) => {
            const i = enabled.indexOf(o);
            const isActive = i >= 0 && i === active;
            return (
              <li
                key={o.value}
                id={i >= 0 ? optionId(i) : undefined}
                role="option"
                aria-selected={isActive}
                aria-disabled={o.disabled || undefined}
                // mousedown, not click: the input must not lose focus (and close the list) first.
                onMouseDown={(e) => {
                  e.preventDefault();
                  if (!o.disabled) pick(o);
                }}
                onMouseEnter={() => i >= 0 && setActive(i)}
                className={cn(
                  "cursor-pointer px-3 py-1.5 text-sm",
                  isActive && "bg-accent-soft text-accent-soft-fg",
                  o.disabled && "cursor-not-allowed opacity-55",
                )}
              >
                {o.content ?? o.value}
              </li>
            );
          })}
        </ul>
        {options.length === 0 && value.trim() && emptyText ? <p className="px-3 py-1.5 text-sm text-fg-muted">{emptyText}</p> : null}
        {footer ? <div className="border-t border-border px-3 py-1.5 text-sm first:border-t-0">{footer}</div> : null}
      </div>
    </div>
  );
}
