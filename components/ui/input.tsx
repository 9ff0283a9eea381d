import type { InputHTMLAttributes, Ref } from "react";
import { cn } from "./cn";

export const inputClasses =
  "block h-8 w-full min-w-0 rounded-md border border-border-strong bg-surface px-2.5 text-sm text-fg shadow-xs " +
  "placeholder:text-fg-subtle transition-colors " +
  "focus-visible:border-focus focus-visible:outline-2 focus-visible:outline-offset-0 focus-visible:outline-focus/40 " +
  "disabled:cursor-not-allowed disabled:bg-surface-2 disabled:text-fg-subtle " +
  "aria-invalid:border-danger aria-invalid:focus-visible:outline-danger/40";

export type InputProps = InputHTMLAttributes<HTMLInputElement> & { ref?: Ref<HTMLInputElement> };

export function Input({ className, type = "text", ...rest }: InputProps) {
  return <input type={type} className={cn(inputClasses, className)} {...rest} />;
}
