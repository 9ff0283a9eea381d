import type { Ref, TextareaHTMLAttributes } from "react";
import { cn } from "./cn";
import { inputClasses } from "./input";

export type TextareaProps = TextareaHTMLAttributes<HTMLTextAreaElement> & { ref?: Ref<HTMLTextAreaElement> };

/** A native <textarea> styled like Input; `mono` for code (CEL, CIDR lists). */
export function Textarea({ className, mono, rows = 4, ...rest }: TextareaProps & { mono?: boolean }) {
  return <textarea rows={rows} className={cn(inputClasses, "h-auto py-1.5 leading-relaxed", mono && "font-mono text-xs", className)} {...rest} />;
}
