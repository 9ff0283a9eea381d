import type { LabelHTMLAttributes } from "react";
import { cn } from "./cn";

export interface LabelProps extends LabelHTMLAttributes<HTMLLabelElement> {
  /** Appends a visual marker; the input itself must still carry `required`. */
  required?: boolean;
}

export function Label({ className, required, children, ...rest }: LabelProps) {
  return (
    <label className={cn("block text-sm font-medium text-fg", className)} {...rest}>
      {children}
      {required ? (
        <span className="ml-0.5 text-danger-fg" aria-hidden="true">
          *
        </span>
      ) : null}
    </label>
  );
}
