import type { HTMLAttributes } from "react";
import { cn } from "./cn";

/** Inline code / resource names: monospace on a faint chip. */
export function Code({ className, ...rest }: HTMLAttributes<HTMLElement>) {
  return (
    <code
      className={cn("rounded bg-surface-2 px-1 py-0.5 font-mono text-[0.8125em] text-fg", className)}
      {...rest}
    />
  );
}
