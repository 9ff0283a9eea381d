import type { Metadata } from "next";
import { PlannedSection } from "@/components/shell/planned-section";
import { requireSession } from "@/lib/auth/session";

export const metadata: Metadata = { title: "Troubleshooter" };

export default async function TroubleshooterPage() {
  await requireSession();
  return (
    <PlannedSection
      eyebrow="Diagnose"
      title="Troubleshooter"
      icon="route"
      description="Answers “why can (or can’t) this principal reach this resource?” with the same engine that serves proxies."
      planned={[
        "Pick a principal, a resource and a request (method, host, path, IP, time)",
        "See the decision, the reason code and the binding or deny rule that decided it",
        "Step through the full trace: every policy on the path, group memberships and condition results",
      ]}
    />
  );
}
