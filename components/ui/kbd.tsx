import type { HTMLAttributes } from "react";
import { cn } from "./cn";

export function Kbd({ className, ...rest }: HTMLAttributes<HTMLElement>) {
  return (
    <kbd
      className={cn(
        "inline-flex h-5 min-w-5 items-center justify-center rounded border border-border-strong border-b-2 bg-surface px-1 font-mono text-2xs text-fg-muted",
        className,
      )}
      {...rest}
    />
  );
}
