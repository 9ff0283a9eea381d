import type { Metadata } from "next";
import { z } from "zod";
import { IapPanel } from "@/components/iap/iap-panel";
import { consoleAdmin } from "@/lib/console/admin";
import { getIapPanel, MAX_SELECTION } from "@/lib/console/iap";
import { getResourceTree } from "@/lib/console/tree";

export const metadata: Metadata = { title: "Identity-Aware Proxy" };

/** ?resource=… (repeatable): the selected resources; anything else in the URL is ignored. */
const ZSelection = z.preprocess((v) => (v === undefined ? [] : Array.isArray(v) ? v : [v]), z.array(z.string().min(1).max(1024)).max(MAX_SELECTION)).catch([]);

export default async function IapPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const { ctx, session } = await consoleAdmin();
  const selected = ZSelection.parse((await searchParams).resource);
  const [roots, panel] = await Promise.all([getResourceTree(session.principal), selected.length ? getIapPanel(ctx, selected) : null]);
  return <IapPanel roots={roots} selected={selected} panel={panel} />;
}
