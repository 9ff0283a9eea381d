import type { Metadata } from "next";
import { PlannedSection } from "@/components/shell/planned-section";
import { Code } from "@/components/ui/code";
import { requireSession } from "@/lib/auth/session";

export const metadata: Metadata = { title: "Principals" };

export default async function PrincipalsPage() {
  await requireSession();
  return (
    <PlannedSection
      eyebrow="Identity"
      title="Principals"
      icon="user"
      description="Users and service accounts that can be granted roles, written as IAM member strings such as user:alice@example.com or serviceAccount:gateway@demo.iam.gserviceaccount.com."
      planned={[
        "Browse users and service accounts and the groups they belong to",
        "Create service accounts and manage their keys",
        "See every role a principal holds — direct, through groups and inherited",
      ]}
      meanwhile={
        <>
          Until then, principals are defined in the <Code>users:</Code> and <Code>serviceAccounts:</Code> sections of
          a world file.
        </>
      }
    />
  );
}
