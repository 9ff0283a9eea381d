/**
 * Joins class names, skipping falsy values. Deliberately tiny: no conflict
 * resolution, so a component's own classes and a caller's `className` must not
 * fight over the same property (callers add layout — margins, widths — not colours).
 */
export type ClassValue = string | false | null | undefined | 0;

export function cn(...classes: ClassValue[]): string {
  return classes.filter(Boolean).join(" ");
}
