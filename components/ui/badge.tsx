import type { HTMLAttributes } from "react";
import { cn } from "./cn";

export type BadgeTone = "success" | "neutral" | "danger" | "warning" | "info" | "accent";

const TONES: Record<BadgeTone, string> = {
  success: "bg-success-soft text-success-fg",
  neutral: "bg-neutral-soft text-neutral-fg",
  danger: "bg-danger-soft text-danger-fg",
  warning: "bg-warning-soft text-warning-fg",
  info: "bg-info-soft text-info-fg",
  accent: "bg-accent-soft text-accent-soft-fg",
};

const DOTS: Record<BadgeTone, string> = {
  success: "bg-success-dot",
  neutral: "bg-neutral-dot",
  danger: "bg-danger",
  warning: "bg-warning-fg",
  info: "bg-info-fg",
  accent: "bg-accent",
};

export interface BadgeProps extends HTMLAttributes<HTMLSpanElement> {
  tone?: BadgeTone;
  /** A leading status dot — colour is never the only signal, the text always says the state. */
  dot?: boolean;
}

export function Badge({ tone = "neutral", dot = false, className, children, ...rest }: BadgeProps) {
  return (
    <span
      className={cn(
        "inline-flex h-5 items-center gap-1.5 rounded-full px-2 text-xs font-medium whitespace-nowrap",
        TONES[tone],
        className,
      )}
      {...rest}
    >
      {dot ? <span className={cn("size-1.5 rounded-full", DOTS[tone])} aria-hidden="true" /> : null}
      {children}
    </span>
  );
}
