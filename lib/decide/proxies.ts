// Proxy credentials held in memory for the hot path: a presented key is hashed once and then
// recognised from a small cache; the set follows the change feed, so a revoked key stops
// working everywhere within a sync.
import type { PrismaClient } from "@/lib/generated/prisma/client";
import { hashProxySecret } from "@/lib/admin/proxy-keys";

export interface ProxyCredentialInfo {
  id: string;
  name: string;
  trusted: boolean;
  /** Resource-name prefixes this proxy may ask about (empty = all). */
  scopes: readonly string[];
  /** Lower-case name of the header in which this proxy reports the client's region; null = none. */
  regionHeader: string | null;
}

const MAX_CACHED = 1000;

export class ProxyCredentials {
  private byHash = new Map<string, ProxyCredentialInfo>();
  /** Presented secret → credential (or null when unknown), to skip hashing on repeat calls. */
  private seen = new Map<string, ProxyCredentialInfo | null>();
  private used = new Set<string>();

  constructor(private readonly prisma: PrismaClient) {}

  async load(): Promise<void> {
    const rows = await this.prisma.proxyCredential.findMany({ where: { revokedAt: null } });
    this.byHash = new Map(
      rows.map((r) => [r.secretHash, { id: r.id, name: r.name, trusted: r.trusted, scopes: r.scopes, regionHeader: r.regionHeader?.toLowerCase() ?? null }]),
    );
    this.seen = new Map();
  }

  /** Hot path. */
  authenticate(secret: string | undefined): ProxyCredentialInfo | null {
    if (!secret) return null;
    let hit = this.seen.get(secret);
    if (hit === undefined) {
      hit = this.byHash.get(hashProxySecret(secret)) ?? null;
      if (this.seen.size >= MAX_CACHED) this.seen.clear();
      this.seen.set(secret, hit);
    }
    if (hit) this.used.add(hit.id);
    return hit;
  }

  /** Records lastUsedAt for the credentials used since the previous call (run periodically). */
  async flushUsage(): Promise<void> {
    if (!this.used.size) return;
    const ids = [...this.used];
    this.used.clear();
    await this.prisma.proxyCredential.updateMany({ where: { id: { in: ids } }, data: { lastUsedAt: new Date() } });
  }
}

export function inScope(proxy: ProxyCredentialInfo, resource: string): boolean {
  return proxy.scopes.length === 0 || proxy.scopes.some((s) => resource === s || resource.startsWith(s.endsWith("/") ? s : `${s}/`));
}
