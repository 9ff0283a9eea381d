import type { Metadata } from "next";
import { IapPanel } from "@/components/iap/iap-panel";
import { requireSession } from "@/lib/auth/session";
import { getResourceTree } from "@/lib/console/tree";

export const metadata: Metadata = { title: "Identity-Aware Proxy" };

export default async function IapPage() {
  await requireSession();
  const roots = await getResourceTree();
  return <IapPanel roots={roots} />;
}
