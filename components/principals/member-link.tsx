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

/** "directly" or "through group:a → group:b". */
export function ViaPath({ via }: { via: string[] }) {
  if (via.length === 0) return <span className="text-fg-muted">directly</span>;
  return (
    <span className="text-fg-muted">
      through{" "}
      {via.map((g, i) => (
        <span key={g}>
          {i > 0 ? <span aria-hidden="true"> → </span> : null}
          <MemberLink member={g} />
        </span>
      ))}
    </span>
  );
}
