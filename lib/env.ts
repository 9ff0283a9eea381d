// Configuration (DESIGN.md §6), validated once at start-up with readable messages.
// The custom server resolves the database (embedded or DATABASE_URL) and AUTH_SECRET before Next
// starts and writes the resolved values back to process.env, so every module reads one truth.
import { z } from "zod";
import { parseSinkTarget } from "@/lib/audit/sink";

const emailList = z
  .string()
  .default("")
  .transform((s) =>
    s
      .split(",")
      .map((e) => e.trim().toLowerCase())
      .filter(Boolean),
  )
  .pipe(z.array(z.email({ message: "GATEHOUSE_BOOTSTRAP_ADMINS must be comma-separated emails" })));

const retentionDays = z.preprocess(
  (v) => (v === "" ? undefined : v),
  z.coerce
    .number({ error: "must be a number of days" })
    .int("must be a whole number of days")
    .min(0, "must be 0 (keep forever) or more days")
    .max(36_500, "must be at most 36500 days")
    .default(0),
);

const optionalUrl = z.preprocess((v) => (v === "" ? undefined : v), z.url().optional());

export const EnvSchema = z.object({
  NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
  PORT: z.coerce.number({ error: "must be a port number (1–65535)" }).int().min(1).max(65535).default(3000),
  HOSTNAME: z.string().default("0.0.0.0"),
  DATABASE_URL: z.preprocess(
    (v) => (v === "" ? undefined : v),
    z
      .string()
      .regex(/^postgres(ql)?:\/\//, "DATABASE_URL must be a postgres:// or postgresql:// URL")
      .optional(),
  ),
  GATEHOUSE_PUBLIC_URL: optionalUrl,
  AUTH_SECRET: z.preprocess((v) => (v === "" ? undefined : v), z.string().min(32, "AUTH_SECRET must be at least 32 characters").optional()),
  GATEHOUSE_BOOTSTRAP_ADMINS: emailList,
  /**
   * Seed the demo world (and the demo admin's sign-in) on first start (empty database). Unset:
   * only in development (`npm run dev`); production seeds only when it is set to true explicitly.
   */
  GATEHOUSE_SEED_DEMO: z.preprocess(
    (v) => (v === "" ? undefined : v),
    z
      .enum(["true", "false", "1", "0"])
      .optional()
      .transform((v) => (v === undefined ? undefined : v === "true" || v === "1")),
  ),
  /** Generic OIDC sign-in for the console (all three or none). */
  GATEHOUSE_OIDC_ISSUER: optionalUrl,
  GATEHOUSE_OIDC_CLIENT_ID: z.string().optional(),
  GATEHOUSE_OIDC_CLIENT_SECRET: z.string().optional(),
  GATEHOUSE_OIDC_NAME: z.string().default("SSO"),
  /**
   * Accept console SSO sign-ins whose ID token does not say `email_verified: true`. Only for an
   * issuer whose emails are all assigned by its administrators (some never send the claim).
   */
  GATEHOUSE_OIDC_ALLOW_UNVERIFIED_EMAIL: z
    .enum(["true", "false", "1", "0"])
    .default("false")
    .transform((v) => v === "true" || v === "1"),
  /**
   * Past this age of the policy snapshot (no successful sync with the database), decisions fail
   * closed with 503 and /healthz answers 503.
   */
  GATEHOUSE_MAX_STALENESS_SECONDS: z.coerce
    .number({ error: "must be a number of seconds" })
    .int("must be a whole number of seconds")
    .min(5, "must be at least 5 seconds")
    .max(86_400, "must be at most 86400 seconds (one day)")
    .default(60),
  /**
   * Also ship every data-access record as NDJSON (Cloud Audit Log entries) to `stdout` or
   * `file:PATH`, for a log pipeline (docs/audit-pipeline.md). Unset: no shipping.
   */
  GATEHOUSE_AUDIT_SINK: z.preprocess(
    (v) => (v === "" ? undefined : v),
    z
      .string()
      .refine((v) => parseSinkTarget(v) !== undefined, "GATEHOUSE_AUDIT_SINK must be stdout or file:PATH")
      .transform((v) => parseSinkTarget(v)!)
      .optional(),
  ),
  /** Store data-access records in PostgreSQL (the Audit API reads them there). false needs GATEHOUSE_AUDIT_SINK. */
  GATEHOUSE_AUDIT_STORE_DATA_ACCESS: z
    .enum(["true", "false", "1", "0"])
    .default("true")
    .transform((v) => v === "true" || v === "1"),
  /**
   * Keys the audit hash chains and signs their checkpoints (lib/audit/chain.ts). Unset: derived
   * from AUTH_SECRET (HKDF) — then rotating AUTH_SECRET makes older checkpoints unverifiable, so
   * set this (and keep it for as long as the trail is kept) in production.
   */
  GATEHOUSE_AUDIT_KEY: z.preprocess(
    (v) => (v === "" ? undefined : v),
    z.string().min(32, "GATEHOUSE_AUDIT_KEY must be at least 32 characters (e.g. openssl rand -base64 32)").optional(),
  ),
  /** How often the server writes signed checkpoints of the audit chains (lib/audit/checkpoints.ts). */
  GATEHOUSE_AUDIT_CHECKPOINT_SECONDS: z.coerce
    .number({ error: "must be a number of seconds" })
    .int("must be a whole number of seconds")
    .min(1, "must be at least 1 second")
    .max(86_400, "must be at most 86400 seconds (one day)")
    .default(60),
  /** Days to keep data-access records; unset or 0: forever (lib/audit/retention.ts). */
  GATEHOUSE_AUDIT_RETENTION_DAYS_DATA_ACCESS: retentionDays,
  /** Days to keep admin-activity records; unset or 0: forever. */
  GATEHOUSE_AUDIT_RETENTION_DAYS_ADMIN_ACTIVITY: retentionDays,
  /** Directory for the embedded database and local state. */
  GATEHOUSE_DATA_DIR: z.string().default(".data"),
});

export type Env = Omit<z.infer<typeof EnvSchema>, "GATEHOUSE_SEED_DEMO"> & { GATEHOUSE_PUBLIC_URL: string; GATEHOUSE_SEED_DEMO: boolean };

export class ConfigError extends Error {}

export function parseEnv(source: Record<string, string | undefined> = process.env): Env {
  const r = EnvSchema.safeParse(source);
  if (!r.success) {
    const lines = r.error.issues.map((i) => `  - ${i.path.join(".") || "(env)"}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join("\n")}`);
  }
  const env = r.data;
  const oidc = [env.GATEHOUSE_OIDC_ISSUER, env.GATEHOUSE_OIDC_CLIENT_ID, env.GATEHOUSE_OIDC_CLIENT_SECRET];
  if (oidc.some(Boolean) && !oidc.every(Boolean)) {
    throw new ConfigError(
      "Invalid configuration:\n  - GATEHOUSE_OIDC_ISSUER, GATEHOUSE_OIDC_CLIENT_ID and GATEHOUSE_OIDC_CLIENT_SECRET must be set together",
    );
  }
  if (!env.GATEHOUSE_AUDIT_STORE_DATA_ACCESS && !env.GATEHOUSE_AUDIT_SINK) {
    throw new ConfigError("Invalid configuration:\n  - GATEHOUSE_AUDIT_STORE_DATA_ACCESS=false needs GATEHOUSE_AUDIT_SINK (decision records would go nowhere)");
  }
  return {
    ...env,
    GATEHOUSE_PUBLIC_URL: (env.GATEHOUSE_PUBLIC_URL ?? `http://localhost:${env.PORT}`).replace(/\/$/, ""),
    GATEHOUSE_SEED_DEMO: env.GATEHOUSE_SEED_DEMO ?? env.NODE_ENV === "development",
  };
}

let cached: Env | undefined;
/** The validated configuration of this process. */
export function env(): Env {
  cached ??= parseEnv();
  return cached;
}
