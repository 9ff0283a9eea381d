import type { HTMLAttributes, TdHTMLAttributes, ThHTMLAttributes } from "react";
import { cn } from "./cn";

/** A table in a bordered, horizontally scrollable frame. Give it a `caption` or `aria-label`. */
export function Table({
  className,
  frameClassName,
  ...rest
}: HTMLAttributes<HTMLTableElement> & { frameClassName?: string }) {
  return (
    <div className={cn("overflow-x-auto rounded-lg border border-border bg-surface shadow-xs", frameClassName)}>
      <table className={cn("w-full border-collapse text-left text-sm", className)} {...rest} />
    </div>
  );
}

export function TableHead({ className, ...rest }: HTMLAttributes<HTMLTableSectionElement>) {
  return <thead className={cn("border-b border-border bg-surface-2", className)} {...rest} />;
}

export function TableBody({ className, ...rest }: HTMLAttributes<HTMLTableSectionElement>) {
  return <tbody className={cn("divide-y divide-border", className)} {...rest} />;
}

export function TableRow({ className, ...rest }: HTMLAttributes<HTMLTableRowElement>) {
  return <tr className={cn("transition-colors hover:bg-surface-hover/60", className)} {...rest} />;
}

export function TableHeaderCell({ className, scope = "col", ...rest }: ThHTMLAttributes<HTMLTableCellElement>) {
  return (
    <th
      scope={scope}
      className={cn(
        "h-9 px-3 text-xs font-medium tracking-wide whitespace-nowrap text-fg-subtle uppercase first:pl-4 last:pr-4",
        className,
      )}
      {...rest}
    />
  );
}

export function TableCell({ className, ...rest }: TdHTMLAttributes<HTMLTableCellElement>) {
  return <td className={cn("px-3 py-2 align-middle first:pl-4 last:pr-4", className)} {...rest} />;
}
