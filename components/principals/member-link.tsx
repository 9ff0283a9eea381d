import Link from "next/link";
import { Code } from "@/components/ui/code";
import { linkClasses } from "./list-controls";

/** The console page of a member string: a group's or a principal's; other members (domain:, deleted:…) as text. */
export function memberHref(member: string): string | null {
  if (member.startsWith("group:")) return `/groups/${encodeURIComponent(member.slice(6))}`;
  if (member.startsWith("user:") || member.startsWith("serviceAccount:")) return `/principals/${encodeURIComponent(member)}`;
  return null;
}

export function MemberLink({ member }: { member: string }) {
  const href = memberHref(member);
  return href ? (
    <Link href={href} className={linkClasses}>
      {member}
    </Link>
  ) : (
    <Code>{member}</Code>
  );
}

/**
 * How the subject reaches the member a binding names, given the group path from the subject to it
 * (the last group is that member): "directly" (the binding names it, its domain or everyone), "as
 * a member" (of that group), or "through" the nested groups in between.
 */
export function ViaPath({ via }: { via: string[] }) {
  if (via.length === 0) return <span className="text-fg-muted">directly</span>;
  if (via.length === 1) return <span className="text-fg-muted">as a member</span>;
  return (
    <span className="text-fg-muted">
      through{" "}
      {via.slice(0, -1).map((g, i) => (
        <span key={g}>
          {i > 0 ? <span aria-hidden="true"> → </span> : null}
          <MemberLink member={g} />
        </span>
      ))}
    </span>
  );
}
