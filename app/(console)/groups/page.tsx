import type { Metadata } from "next";
import { PlannedSection } from "@/components/shell/planned-section";
import { Code } from "@/components/ui/code";
import { requireSession } from "@/lib/auth/session";

export const metadata: Metadata = { title: "Groups" };

export default async function GroupsPage() {
  await requireSession();
  return (
    <PlannedSection
      eyebrow="Identity"
      title="Groups"
      icon="users"
      description="Groups collect users, service accounts and other groups, so a role is granted once to the group instead of to each member."
      planned={[
        "List groups with their direct and effective (nested) members",
        "Add and remove members, including other groups (cycles are refused)",
        "See every resource where a group holds a role",
      ]}
      meanwhile={
        <>
          Until then, groups are defined in the <Code>groups:</Code> section of a world file and applied with{" "}
          <Code>npm run gatehouse -- apply -f world.yaml</Code>.
        </>
      }
    />
  );
}
