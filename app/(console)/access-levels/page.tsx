import type { Metadata } from "next";
import { PlannedSection } from "@/components/shell/planned-section";
import { Code } from "@/components/ui/code";
import { requireSession } from "@/lib/auth/session";

export const metadata: Metadata = { title: "Access levels" };

export default async function AccessLevelsPage() {
  await requireSession();
  return (
    <PlannedSection
      eyebrow="Access"
      title="Access levels"
      icon="lock"
      description="Context-aware access: named conditions on the request (IP ranges, regions, members) that bindings can require through request.auth.access_levels."
      planned={[
        "List access levels and the bindings that require them",
        "Build basic levels (AND/OR over IP subnetworks, regions, members and other levels)",
        "Write custom levels in CEL, validated before saving",
      ]}
      meanwhile={
        <>
          Until then, access levels are defined in the <Code>accessLevels:</Code> section of a world file.
        </>
      }
    />
  );
}
