// Who is acting, against what, and from where: the one argument every lib/admin function takes.
// lib/admin never imports Next.js (an ESLint rule keeps it so): the admin API, the console's
// server actions, the CLI and the seed all call the same functions with their own context.
import type { PrismaClient } from "@/lib/generated/prisma/client";
import type { LoadedState } from "@/lib/decide/load";
import type { StoredPolicy } from "@/lib/db/policy-rows";
import type { DataAccessRecord } from "@/lib/audit/decisions";

/**
 * An IAM principal (the admin API, the console), authorised by the engine like any other
 * request; or Gatehouse itself (`system:cli`, `system:seed`), which acts with the database's
 * authority — whoever can run the CLI against the database holds everything anyway — and is
 * named as such in every audit record.
 */
export type Actor = { kind: "principal"; principal: string } | { kind: "system"; name: `system:${string}` };

export const SYSTEM_CLI: Actor = { kind: "system", name: "system:cli" };
export const SYSTEM_SEED: Actor = { kind: "system", name: "system:seed" };

export function principalActor(principal: string): Actor {
  return { kind: "principal", principal };
}

/** The audit log's actor string: the principal's email (`user:`/`serviceAccount:` stripped), or `system:…`. */
export function actorName(a: Actor): string {
  return a.kind === "system" ? a.name : a.principal.slice(a.principal.indexOf(":") + 1);
}

/** What lib/admin needs of the live policy engine (lib/decide/engine.ts satisfies it). */
export interface EngineView {
  current(): LoadedState & { revision: bigint };
  /** GATEHOUSE_BOOTSTRAP_ADMINS (owners of every organization, with the stored instance owners). */
  readonly bootstrapAdmins: readonly string[];
  /** Resolves true once the engine has applied `revision`, false after `timeoutMs`. */
  waitFor(revision: bigint, timeoutMs: number): Promise<boolean>;
  /**
   * A mutation of this process committed revision `to` on `from`, changing only these policies
   * (as stored): the engine may take them as they are instead of reading them back, if it is
   * still at `from`. Otherwise (or without this method) it follows the change feed as always.
   */
  adopt?(from: bigint, to: bigint, policies: ReadonlyMap<string, StoredPolicy>): void;
  /**
   * Just before the commit of revision `to`, which this process will then adopt: until adopt (or
   * cancelAdopt, when the commit failed) the engine need not read `to` back from the change feed.
   */
  expectAdopt?(to: bigint): void;
  cancelAdopt?(to: bigint): void;
}

export interface RequestMeta {
  callerIp?: string;
  userAgent?: string;
}

/**
 * The instance's own configuration, for the writes that need it: AUTH_SECRET seals OAuth client
 * secrets and signing keys, GATEHOUSE_PUBLIC_URL goes into service-account key files. The HTTP
 * layer supplies it from the server's configuration and the CLI from the environment; a write
 * that needs it and finds none fails (INTERNAL) before changing anything.
 */
export interface InstanceConfig {
  authSecret: string;
  publicUrl: string;
}

export interface AdminContext {
  db: PrismaClient;
  actor: Actor;
  instance?: InstanceConfig;
  /**
   * The live engine: principals are authorised against its snapshot. A system actor may run
   * without one (the CLI has no engine); a principal actor never does.
   */
  engine?: EngineView;
  requestMeta?: RequestMeta;
  /** The data-access log, where reads of the audit trail are recorded (lib/audit/search.ts). */
  accessLog?: { record(r: DataAccessRecord): void };
}
