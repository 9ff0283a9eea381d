import type { Metadata } from "next";
import { PlannedSection } from "@/components/shell/planned-section";
import { Code } from "@/components/ui/code";
import { requireSession } from "@/lib/auth/session";

export const metadata: Metadata = { title: "Roles" };

export default async function RolesPage() {
  await requireSession();
  return (
    <PlannedSection
      eyebrow="Identity"
      title="Roles"
      icon="key"
      description="Roles bundle permissions. Gatehouse ships IAM's predefined roles (such as roles/iap.httpsResourceAccessor) and lets you define custom roles at organization or project level."
      planned={[
        "Browse predefined roles and the permissions each one grants",
        "Create, edit and delete custom roles",
        "See where a role is bound across the hierarchy",
      ]}
      meanwhile={
        <>
          Until then, custom roles are defined in the <Code>customRoles:</Code> section of a world file.
        </>
      }
    />
  );
}
