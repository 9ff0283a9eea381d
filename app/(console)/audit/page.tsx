import type { Metadata } from "next";
import { PlannedSection } from "@/components/shell/planned-section";
import { requireSession } from "@/lib/auth/session";

export const metadata: Metadata = { title: "Audit logs" };

export default async function AuditPage() {
  await requireSession();
  return (
    <PlannedSection
      eyebrow="Diagnose"
      title="Audit logs"
      icon="log"
      description="Admin activity (every policy and configuration change: who, what, before and after) and data access (every access decision), in the Cloud Audit Logs shape."
      planned={[
        "Search and filter both streams by principal, resource, method and time",
        "Open an entry to see the change as a before/after diff",
        "Export entries and verify the tamper-evident hash chain",
      ]}
    />
  );
}
