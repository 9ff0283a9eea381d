import type { Metadata } from "next";
import { PlannedSection } from "@/components/shell/planned-section";
import { Code } from "@/components/ui/code";
import { requireSession } from "@/lib/auth/session";

export const metadata: Metadata = { title: "Settings" };

export default async function SettingsPage() {
  await requireSession();
  return (
    <PlannedSection
      eyebrow="Admin"
      title="Settings"
      icon="settings"
      description="Configuration of Gatehouse itself: who proxies are, which identity tokens it trusts and the keys it signs assertions with."
      planned={[
        "Create and revoke proxy credentials for the decision API",
        "Manage trusted token issuers and their audiences",
        "Inspect signing keys and start a key rotation",
      ]}
      meanwhile={
        <>
          Until then, trusted issuers are defined in the <Code>trustedIssuers:</Code> section of a world file.
        </>
      }
    />
  );
}
