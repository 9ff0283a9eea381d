import Link from "next/link";
import { Alert } from "@/components/ui/alert";
import { buttonClasses } from "@/components/ui/button";
import { Icon } from "@/components/ui/icon";
import { inputClasses } from "@/components/ui/input";
import { cn } from "@/components/ui/cn";

/** A GET form that filters a list by its `q` parameter (works without JavaScript; the URL is shareable). */
export function FilterForm({ label, placeholder, q, hidden = {} }: { label: string; placeholder: string; q: string; hidden?: Record<string, string> }) {
  return (
    <form role="search" method="get" className="mb-4 flex max-w-xl items-center gap-2">
      {Object.entries(hidden).map(([k, v]) => (
        <input key={k} type="hidden" name={k} value={v} />
      ))}
      <label htmlFor="list-filter" className="sr-only">
        {label}
      </label>
      <div className="relative flex-1">
        <Icon name="search" className="pointer-events-none absolute top-2 left-2.5 size-4 text-fg-subtle" />
        <input id="list-filter" name="q" type="search" defaultValue={q} placeholder={placeholder} maxLength={256} className={cn(inputClasses, "pl-8")} />
      </div>
      <button type="submit" className={buttonClasses()}>
        Filter
      </button>
    </form>
  );
}

/** "Next page" for keyset-paged lists (the page token is opaque, from the previous page). */
export function NextPage({ href }: { href: string | null }) {
  if (!href) return null;
  return (
    <div className="mt-3 flex justify-end">
      <Link href={href} className={buttonClasses({ size: "sm" })}>
        Next page
        <Icon name="chevron-right" className="size-3.5" />
      </Link>
    </div>
  );
}

/** What a page shows when the viewer may not read its data (lib/admin's refusal, in its words). */
export function Refused({ message }: { message: string }) {
  return (
    <Alert tone="warning" live={false} title="You cannot see this">
      {message}
    </Alert>
  );
}

/** A search parameter as one string (the first when repeated), at most 256 characters. */
export function param(v: string | string[] | undefined): string {
  return (Array.isArray(v) ? v[0] : v)?.slice(0, 256) ?? "";
}

/** Links inside tables and text. */
export const linkClasses = "rounded-sm font-medium text-accent-soft-fg underline-offset-2 hover:underline focus-visible:outline-2 focus-visible:outline-focus";
