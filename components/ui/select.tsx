import type { Ref, SelectHTMLAttributes } from "react";
import { cn } from "./cn";
import { inputClasses } from "./input";

export type SelectProps = SelectHTMLAttributes<HTMLSelectElement> & { ref?: Ref<HTMLSelectElement> };

/** A native <select> styled like Input (keyboard and screen-reader behaviour come from the browser). */
export function Select({ className, ...rest }: SelectProps) {
  return <select className={cn(inputClasses, "pr-7", className)} {...rest} />;
}
