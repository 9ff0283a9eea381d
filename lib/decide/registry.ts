// The console (rendered by Next.js in this same process) asks the live engine questions through
// this process-wide registry. The server registers closures over its own engine, so the console
// never holds a second copy of the snapshot and never depends on module identity across bundles.
import { evaluate, whatCan, type CheckInput, type Decision, type WhatCanEntry } from "@/lib/policy";
import type { AdminContext, EngineView, InstanceConfig } from "@/lib/admin/context";
import type { PolicyEngine } from "./engine";

export interface EngineQueries {
  revision(): string;
  evaluate(check: CheckInput): Decision;
  /** Resources where `principal` holds `permission` now. */
  whatCan(principal: string, permission: string): WhatCanEntry[];
}

/** What the console's server actions hand to lib/admin: the same engine and configuration the admin API uses. */
export interface AdminDeps {
  engine: EngineView;
  instance: InstanceConfig;
  /** The data-access log: the console's reads of the audit trail are recorded there, as the API's are. */
  accessLog?: AdminContext["accessLog"];
}

const KEY = Symbol.for("gatehouse.engineQueries");
const ADMIN = Symbol.for("gatehouse.adminDeps");
type Holder = { [KEY]?: EngineQueries; [ADMIN]?: AdminDeps };

export function registerEngine(engine: PolicyEngine, instance?: InstanceConfig, accessLog?: AdminContext["accessLog"]): void {
  (globalThis as Holder)[KEY] = {
    revision: () => engine.current().revision.toString(),
    evaluate: (check) => evaluate(engine.current().snapshot, check),
    whatCan: (principal, permission) => whatCan(engine.current().snapshot, principal, permission, { request: { time: new Date() } }),
  };
  if (instance) (globalThis as Holder)[ADMIN] = { engine, instance, ...(accessLog ? { accessLog } : {}) };
}

/** The live engine and instance configuration for lib/admin calls made by the console. */
export function adminDeps(): AdminDeps {
  const d = (globalThis as Holder)[ADMIN];
  if (!d) throw new Error("the policy engine is not running in this process: start Gatehouse with `npm run dev` or `npm start`");
  return d;
}

/** The live engine's queries; throws when the console runs without the Gatehouse server. */
export function engineQueries(): EngineQueries {
  const q = (globalThis as Holder)[KEY];
  if (!q) throw new Error("the policy engine is not running in this process: start Gatehouse with `npm run dev` or `npm start`");
  return q;
}
