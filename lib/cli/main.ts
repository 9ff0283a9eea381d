// `npm run gatehouse -- <command>`: works against the configured database whether or not the
// server runs (with the embedded database it reuses the running one, or starts it). Writes go
// through the same code as the server's and bump the revision, so running servers follow them.
// Contract (DESIGN.md §6): when a command prints a secret or token, it is the last word printed.
import fs from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { stringify } from "yaml";
import { env, ConfigError } from "@/lib/env";
import { AppError } from "@/lib/errors";
import { resolveDatabase, DatabaseUnavailableError } from "@/lib/db/connect";
import { db } from "@/lib/db/client";
import { MigrationError } from "@/lib/db/migrate";
import { parseWorld } from "@/lib/world/parse";
import { applyWorld, describeChange } from "@/lib/world/apply";
import { exportWorld } from "@/lib/world/export";
import { worldCatalog } from "@/lib/world/catalog";
import { createProxyKey, listProxyKeys, revokeProxyKey } from "@/lib/admin/proxy-keys";
import { SYSTEM_CLI, type AdminContext } from "@/lib/admin/context";
import { createUser, resetUserPassword, updateUser } from "@/lib/admin/users";
import { rotateSigningKeys } from "@/lib/admin/signing-keys";
import { findConsoleUsers } from "@/lib/auth/users";
import { getIamPolicy, setIamPolicy } from "@/lib/admin/policies";
import { enableIap, disableIap } from "@/lib/admin/hierarchy";
import { addGroupMember, removeGroupMember } from "@/lib/admin/groups";
import { addPrincipals, removePrincipal, type EditResult } from "@/lib/console/iap-edit";
import { describeDeltas, formatPolicyFile, parsePolicyFile, policyFileFormat } from "@/lib/admin/policy-file";
import { verifyAll } from "@/lib/audit/verify";
import { setAuditKeyMaterial, STREAMS, type Stream } from "@/lib/audit/chain";
import { CHECKPOINT_FILE, parseCheckpoints, type Checkpoint } from "@/lib/audit/checkpoints";
import { purgeStream } from "@/lib/audit/retention";
import { resolveAuthSecret } from "@/lib/server/secret";
import { KeyRing, findSigningKeys, describeSigningKeys } from "@/lib/identity/keys";
import { issueIdTokenForPrincipal } from "@/lib/identity/id-token";
import {
  createServiceAccountKey,
  listServiceAccountKeys,
  disableServiceAccountKey,
  enableServiceAccountKey,
  deleteServiceAccountKey,
} from "@/lib/admin/service-accounts";

const USAGE = `Usage: npm run gatehouse -- <command>

  apply -f FILE [--dry-run]          make the database match a world file (YAML or JSON)
  export [-o FILE]                   write the current world as a world file
  policy get RESOURCE [-o FILE]      print a resource's IAM policy as gcloud's get-iam-policy does
                                     (JSON; YAML when FILE ends in .yaml or .yml)
  policy set RESOURCE -f FILE [--dry-run]
                                     set it from such a file, as gcloud's set-iam-policy does (a
                                     stale etag is refused); prints the binding changes;
                                     --dry-run: check everything, write nothing
  policy add-binding RESOURCE --member MEMBER --role ROLE
         [--condition-title T --condition-expression CEL [--condition-description D]]
                                     grant ROLE to MEMBER (user:…, group:…, serviceAccount:…,
                                     domain:…), as gcloud's add-iam-policy-binding does
  policy remove-binding RESOURCE --member MEMBER --role ROLE [--condition-title T]
                                     take it away (--condition-title picks among conditional
                                     bindings of ROLE that name MEMBER)
  iap enable|disable RESOURCE        turn IAP on or off for a web resource; the first enable
                                     creates its OAuth client and prints the secret, once
  group add-member GROUP MEMBER      add MEMBER (user:…, serviceAccount:…, group:…) to GROUP
  group remove-member GROUP MEMBER   remove it
  proxy-key create --name NAME [--trusted] [--scope RESOURCE]… [--region-header HEADER]
                                     create a proxy credential (printed once, stored hashed);
                                     --trusted: may assert principals, what-if times, explain;
                                     --region-header: the header in which this proxy reports
                                     the client's region (set by the proxy, never the client)
  proxy-key list | revoke --name NAME
                                     list or revoke proxy credentials
  user create --email EMAIL [--display-name NAME] [--owner]
                                     create the principal user:EMAIL and its console account;
                                     prints a one-time password (changed at first sign-in).
                                     --owner: roles/owner on every organization, present and future
  user reset-password --email EMAIL  print a new one-time password; ends the user's sessions
  user disable|enable --email EMAIL  disable (no sign-in, sessions end, denied everywhere) or enable
  user list                          console accounts and instance owners
  audit verify [--checkpoints FILE]… [--allow-unkeyed]
                                     check the audit hash chains against their keys, heads and
                                     purge anchors, and against signed checkpoints kept outside
                                     the database (default: the data directory's, if any; a log
                                     excerpt holding checkpoint lines works too). Names the first
                                     bad record or the missing range; exits 1 if any.
                                     --allow-unkeyed: accept records from before keyed chains
  audit purge [--stream data_access|admin_activity] --older-than-days N
                                     remove a stream's records older than N days (default: the
                                     configured retention), checkpointing the boundary first
  token --principal user:EMAIL|serviceAccount:EMAIL [--audience AUD]
                                     print a signed ID token (1 h; audience defaults to
                                     GATEHOUSE_PUBLIC_URL)
  keys rotate [--immediate] [--secret-changed]
                                     start a signing-key rotation: the new key is published now
                                     and signs after JWKS caches expire (--immediate: at once,
                                     for tests and emergencies; --secret-changed: after changing
                                     AUTH_SECRET, replaces the undecryptable key at once)
  keys list                          print the signing keys and their states
  service-account-key create --email SA
                                     print a new JSON key file for a service account (shown once)
  service-account-key list --email SA
  service-account-key disable|enable|delete --email SA --key KEY_ID
`;

/** The CLI's admin context: the system actor; the instance's secret and URL for the writes that need them. */
function cliAdmin(withInstance = false): AdminContext {
  if (!withInstance) return { db: db(), actor: SYSTEM_CLI };
  return { db: db(), actor: SYSTEM_CLI, instance: { authSecret: authSecret(), publicUrl: env().GATEHOUSE_PUBLIC_URL } };
}

class UsageError extends Error {}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === "help" || command === "--help" || command === "-h") {
    process.stdout.write(USAGE);
    return command ? 0 : 2;
  }
  // The servers' audit key: every write the CLI makes is recorded on the same keyed chains.
  setAuditKeyMaterial(env().GATEHOUSE_AUDIT_KEY ?? authSecret());
  switch (command) {
    case "apply": {
      const { values } = parseArgs({ args: rest, options: { file: { type: "string", short: "f" }, "dry-run": { type: "boolean" } } });
      if (!values.file) throw new UsageError("apply needs -f FILE");
      const text = readFile(values.file);
      const world = parseWorld(text, values.file);
      return withDatabase(async () => {
        const result = await applyWorld({ db: db(), actor: SYSTEM_CLI }, world, { dryRun: values["dry-run"], catalog: worldCatalog() });
        for (const c of result.changes) console.log(describeChange(c));
        const n = result.changes.length;
        if (n === 0) console.log("No changes: the database already matches the file.");
        else if (values["dry-run"]) console.log(`Dry run: ${n} change${n > 1 ? "s" : ""} would be applied.`);
        else console.log(`Applied ${n} change${n > 1 ? "s" : ""} at revision ${result.revision}.`);
      });
    }
    case "export": {
      const { values } = parseArgs({ args: rest, options: { output: { type: "string", short: "o" } } });
      return withDatabase(async () => {
        const world = await exportWorld(db());
        const json = values.output?.endsWith(".json");
        const text = json ? JSON.stringify(world, null, 2) + "\n" : stringify(world, { lineWidth: 0 });
        if (values.output) {
          fs.writeFileSync(values.output, text);
          console.error(`Wrote ${values.output}`);
        } else process.stdout.write(text);
      });
    }
    case "policy": {
      const [sub, resource, ...args] = rest;
      if (sub === "add-binding" || sub === "remove-binding") return policyBinding(sub, resource, args);
      if ((sub !== "get" && sub !== "set") || !resource || resource.startsWith("-")) {
        throw new UsageError("policy takes: get RESOURCE [-o FILE] | set RESOURCE -f FILE [--dry-run]");
      }
      const { values } = parseArgs({ args, options: { output: { type: "string", short: "o" }, file: { type: "string", short: "f" }, "dry-run": { type: "boolean" } } });
      if (sub === "get" && (values.file || values["dry-run"])) throw new UsageError("policy get takes: RESOURCE [-o FILE]");
      if (sub === "set" && (!values.file || values.output)) throw new UsageError("policy set takes: RESOURCE -f FILE [--dry-run]");
      const text = sub === "set" ? readFile(values.file!) : "";
      const policy = sub === "set" ? parsePolicyFile(text, values.file!) : null;
      return withDatabase(async () => {
        const admin = { db: db(), actor: SYSTEM_CLI };
        if (sub === "get") {
          const out = formatPolicyFile(await getIamPolicy(admin, resource, { options: { requestedPolicyVersion: 3 } }), policyFileFormat(values.output));
          if (values.output) {
            fs.writeFileSync(values.output, out);
            console.error(`Wrote the policy of ${resource} to ${values.output}`);
          } else process.stdout.write(out);
          return 0;
        }
        const r = await setIamPolicy(admin, resource, { policy }, { dryRun: values["dry-run"] }).catch((e: unknown) => {
          if (e instanceof AppError && e.code === "ABORTED") {
            throw new AppError("ABORTED", `the policy of ${resource} has changed since ${values.file} was read (its etag is not the current one): get it again, make the edit again, and set that`);
          }
          throw e;
        });
        for (const line of describeDeltas(r.bindingDeltas)) console.log(line);
        const n = r.bindingDeltas.length;
        const count = `${n} binding change${n === 1 ? "" : "s"}${n === 0 ? " (the bindings' order)" : ""}`;
        if (!r.changed) console.log(`No changes: the policy of ${resource} already matches ${values.file}.`);
        else if (r.dryRun) console.log(`Dry run: ${count} would be made to the policy of ${resource}; nothing was written.`);
        else console.log(`Updated the policy of ${resource}: ${count} at revision ${r.revision} (etag ${r.policy.etag}).`);
      });
    }
    case "proxy-key": {
      const [sub, ...args] = rest;
      const { values } = parseArgs({
        args,
        options: { name: { type: "string" }, trusted: { type: "boolean" }, scope: { type: "string", multiple: true }, "region-header": { type: "string" } },
      });
      if (sub !== "create" && sub !== "list" && sub !== "revoke") {
        throw new UsageError("proxy-key takes: create --name NAME [--trusted] [--scope RESOURCE]… [--region-header HEADER] | list | revoke --name NAME");
      }
      if (sub !== "list" && !values.name) throw new UsageError(`proxy-key ${sub} needs --name NAME`);
      return withDatabase(async () => {
        const admin = cliAdmin();
        if (sub === "list") {
          const keys = [];
          let pageToken: string | undefined;
          do {
            const page = await listProxyKeys(admin, { pageSize: 1000, ...(pageToken ? { pageToken } : {}) });
            keys.push(...page.proxyKeys);
            pageToken = page.nextPageToken;
          } while (pageToken);
          for (const k of keys) {
            const state = k.revokedAt ? `revoked ${k.revokedAt}` : k.lastUsedAt ? `last used ${k.lastUsedAt}` : "never used";
            const region = k.regionHeader ? `region from ${k.regionHeader}` : "no region";
            console.log(`${k.name}\t${k.prefix}…\t${k.trusted ? "trusted" : "token-only"}\t${k.scopes.length ? k.scopes.join(",") : "all resources"}\t${region}\t${state}`);
          }
        } else if (sub === "revoke") {
          await revokeProxyKey(admin, values.name!);
          console.log(`Revoked proxy key "${values.name}".`);
        } else {
          const key = await createProxyKey(admin, {
            name: values.name!,
            trusted: Boolean(values.trusted),
            scopes: values.scope ?? [],
            ...(values["region-header"] !== undefined ? { regionHeader: values["region-header"] } : {}),
          });
          console.log(`Created proxy key "${values.name}"${values.trusted ? " (trusted: may assert principals)" : ""}. It is shown only once:`);
          console.log(key.secret);
        }
      });
    }
    case "user": {
      const [sub, ...args] = rest;
      const { values } = parseArgs({ args, options: { email: { type: "string" }, "display-name": { type: "string" }, owner: { type: "boolean" } } });
      if (!sub || !["create", "reset-password", "disable", "enable", "list"].includes(sub)) {
        throw new UsageError("user takes: create --email EMAIL [--display-name NAME] [--owner] | reset-password|disable|enable --email EMAIL | list");
      }
      if (sub !== "list" && !values.email) throw new UsageError(`user ${sub} needs --email EMAIL`);
      if (sub !== "create" && (values.owner || values["display-name"] !== undefined)) throw new UsageError("--owner and --display-name go with user create");
      return withDatabase(async () => {
        if (sub === "list") {
          const users = await findConsoleUsers(db());
          if (users.length === 0) console.log("No console accounts or instance owners yet: `user create --email EMAIL --owner` makes the first admin.");
          for (const u of users) {
            const flags = [
              u.owner ? "owner" : null,
              u.disabled ? "DISABLED" : null,
              u.account ? `password: ${u.password}` : "no console account yet",
              u.sso ? "sso" : null,
            ].filter(Boolean);
            console.log(`${u.email}\t${u.name ?? ""}\t${flags.join(", ")}`);
          }
          const env_ = env().GATEHOUSE_BOOTSTRAP_ADMINS;
          if (env_.length) console.log(`(GATEHOUSE_BOOTSTRAP_ADMINS, owners too: ${env_.join(", ")})`);
        } else if (sub === "create") {
          const u = await createUser(cliAdmin(), { email: values.email!, displayName: values["display-name"], owner: Boolean(values.owner) });
          console.error(
            `${u.principalCreated ? "Created" : "Using the existing"} principal ${u.user.principal} and created its console account` +
              `${u.user.owner ? "; it is an instance owner (roles/owner on every organization)" : ""}${u.revision !== null ? ` at revision ${u.revision}` : ""}.`,
          );
          console.error("One-time password (the first sign-in must choose a new one), shown only once:");
          console.log(u.password);
        } else if (sub === "reset-password") {
          const r = await resetUserPassword(cliAdmin(), values.email!);
          console.error(`New one-time password for ${r.email} (its sessions have ended; the next sign-in must choose a new one), shown only once:`);
          console.log(r.password);
        } else {
          const r = await updateUser(cliAdmin(), values.email!, { disabled: sub === "disable" });
          console.log(`${r.user.principal} is ${sub === "disable" ? "disabled" : "enabled"}${r.changed ? ` (revision ${r.revision})` : " (no change)"}.`);
        }
      });
    }
    case "audit": {
      const [sub, ...args] = rest;
      if (sub !== "verify" && sub !== "purge") throw new UsageError("audit takes: verify [--checkpoints FILE]… [--allow-unkeyed] | purge [--stream STREAM] [--older-than-days N]");
      const config = env();
      const defaultCheckpoints = path.join(config.GATEHOUSE_DATA_DIR, "audit", CHECKPOINT_FILE);
      if (sub === "purge") {
        const { values } = parseArgs({ args, options: { stream: { type: "string" }, "older-than-days": { type: "string" } } });
        if (values.stream !== undefined && !STREAMS.includes(values.stream as Stream)) throw new UsageError(`--stream is one of ${STREAMS.join(", ")}`);
        const streams = values.stream ? [values.stream as Stream] : STREAMS;
        const configured = { data_access: config.GATEHOUSE_AUDIT_RETENTION_DAYS_DATA_ACCESS, admin_activity: config.GATEHOUSE_AUDIT_RETENTION_DAYS_ADMIN_ACTIVITY };
        const given = values["older-than-days"];
        if (given !== undefined && !/^\d{1,5}$/.test(given)) throw new UsageError("--older-than-days takes a whole number of days");
        return withDatabase(async () => {
          const sink = { file: defaultCheckpoints, log: (line: string) => console.error(line) };
          for (const stream of streams) {
            const days = given !== undefined ? Number(given) : configured[stream];
            if (days <= 0) {
              console.log(`${stream}: no retention configured (GATEHOUSE_AUDIT_RETENTION_DAYS_${stream.toUpperCase()}); nothing purged`);
              continue;
            }
            const r = await purgeStream(db(), stream, new Date(Date.now() - days * 86_400_000), sink);
            console.log(r.purged ? `${stream}: purged ${r.purged} records older than ${days} days, through seq ${r.anchor!.seq}; checkpoint written to ${defaultCheckpoints}` : `${stream}: nothing older than ${days} days`);
          }
        });
      }
      const { values } = parseArgs({ args, options: { checkpoints: { type: "string", multiple: true }, "allow-unkeyed": { type: "boolean" } } });
      const files = values.checkpoints ?? (fs.existsSync(defaultCheckpoints) ? [defaultCheckpoints] : []);
      const checkpoints: Checkpoint[] = [];
      for (const file of files) {
        const parsed = parseCheckpoints(readFile(file), file);
        if (parsed.errors.length) throw new AppError("INVALID_ARGUMENT", `${file} has lines that are not valid checkpoints`, parsed.errors.map((message) => ({ message })));
        checkpoints.push(...parsed.checkpoints);
        console.log(`Checkpoints: ${parsed.checkpoints.length} from ${file}`);
      }
      if (!files.length) console.log("No checkpoints given: the chains are checked against themselves only (removal of the newest records is then not detected).");
      return withDatabase(async () => {
        let ok = true;
        for (const report of await verifyAll(db(), { checkpoints, allowUnkeyed: values["allow-unkeyed"] })) {
          const pinned = report.checkpoints ? `, ${report.checkpoints} checkpoints` : "";
          const unkeyed = report.unkeyed ? ` (${report.unkeyed} written before keyed chains)` : "";
          if (report.ok) console.log(`${report.stream}: ${report.records} records${unkeyed}${pinned}, chain intact`);
          else {
            ok = false;
            console.log(`${report.stream}: chain broken at record seq=${report.firstBroken!.seq}: ${report.firstBroken!.reason}`);
            const m = report.missing;
            if (m) console.log(`${report.stream}: missing records after seq ${m.afterSeq}${m.beforeSeq !== null ? ` and before seq ${m.beforeSeq}` : ""}${m.count !== null ? ` (${m.count} records)` : ""}`);
          }
        }
        return ok ? 0 : 1;
      });
    }
    case "token": {
      const { values } = parseArgs({ args: rest, options: { principal: { type: "string" }, audience: { type: "string" } } });
      const { principal, audience } = values;
      if (!principal) throw new UsageError("token needs --principal user:EMAIL|serviceAccount:EMAIL");
      const config = env();
      return withDatabase(async () => {
        const ring = new KeyRing({ issuer: config.GATEHOUSE_PUBLIC_URL, secret: authSecret() });
        await ring.load(db());
        const issued = await issueIdTokenForPrincipal(db(), ring, { principal, audience });
        console.error(`ID token for ${issued.principal} (aud ${issued.audience}, valid 1 h):`);
        console.log(issued.token);
      });
    }
    case "keys": {
      const [sub, ...args] = rest;
      if (sub !== "rotate" && sub !== "list") throw new UsageError("keys takes: rotate [--immediate] [--secret-changed] | list");
      const { values } = parseArgs({ args, options: { immediate: { type: "boolean" }, "secret-changed": { type: "boolean" } } });
      if (sub === "list" && (values.immediate || values["secret-changed"])) throw new UsageError("keys list takes no options");
      return withDatabase(async () => {
        const now = new Date();
        if (sub === "list") {
          const keys = await findSigningKeys(db());
          if (keys.length === 0) console.log("No signing keys yet: the server (or `token`) creates one on first start.");
          for (const line of describeSigningKeys(keys, now)) console.log(line);
          return 0;
        }
        const r = await rotateSigningKeys(cliAdmin(true), { immediate: values.immediate, secretChanged: values["secret-changed"] }, { now });
        if (!r.started) console.log(`A rotation is already under way: key ${r.kid} signs from ${r.activatesAt.toISOString()}.`);
        else if (r.activatesAt.getTime() <= now.getTime() + 1) console.log(`Rotated: key ${r.kid} signs now.`);
        else console.log(`Rotation started: key ${r.kid} is published now and signs from ${r.activatesAt.toISOString()}.`);
        for (const line of describeSigningKeys(r.keys, now)) console.log(line);
      });
    }
    case "service-account-key": {
      const [sub, ...args] = rest;
      const { values } = parseArgs({ args, options: { email: { type: "string" }, key: { type: "string" } } });
      if (!sub || !["create", "list", "disable", "enable", "delete"].includes(sub)) {
        throw new UsageError("service-account-key takes: create|list --email SA, or disable|enable|delete --email SA --key KEY_ID");
      }
      const email = values.email;
      if (!email) throw new UsageError(`service-account-key ${sub} needs --email SA`);
      if (["disable", "enable", "delete"].includes(sub) && !values.key) throw new UsageError(`service-account-key ${sub} needs --key KEY_ID`);
      return withDatabase(async () => {
        // "-": the project is the email's (NAME@PROJECT.iam.gserviceaccount.com), as in Google's API.
        if (sub === "create") {
          const { key, keyFile } = await createServiceAccountKey(cliAdmin(true), "-", email);
          console.error(`Created key ${key.id} for ${key.serviceAccountEmail}. The JSON key file below is shown only once:`);
          console.log(JSON.stringify(keyFile, null, 2));
        } else if (sub === "list") {
          const { keys } = await listServiceAccountKeys(cliAdmin(), "-", email);
          if (keys.length === 0) console.log(`${email} has no keys.`);
          for (const k of keys) console.log(`${k.id}  ${k.disabled ? "DISABLED" : "ENABLED "}  created ${k.createdAt}`);
        } else if (sub === "delete") {
          await deleteServiceAccountKey(cliAdmin(), "-", email, values.key!);
          console.log(`Deleted key ${values.key}.`);
        } else {
          const fn = sub === "disable" ? disableServiceAccountKey : enableServiceAccountKey;
          const { key: k } = await fn(cliAdmin(), "-", email, values.key!);
          console.log(`Key ${k.id} is ${k.disabled ? "disabled" : "enabled"}.`);
        }
      });
    }
    case "iap": {
      const [sub, resource, ...extra] = rest;
      if ((sub !== "enable" && sub !== "disable") || !resource || resource.startsWith("-") || extra.length) throw new UsageError("iap takes: enable|disable RESOURCE");
      return withDatabase(async () => {
        const r = sub === "enable" ? await enableIap(cliAdmin(true), resource) : await disableIap(cliAdmin(), resource);
        const state = `IAP is ${sub === "enable" ? "on" : "off"} for ${resource}${r.revision === null ? " (it already was)" : ` (revision ${r.revision})`}.`;
        if (r.oauthClient) {
          console.log(`${state} Its OAuth client is ${r.oauthClient.clientId}; the secret below is shown only once:`);
          console.log(r.oauthClient.clientSecret);
        } else console.log(state);
      });
    }
    case "group": {
      const [sub, group, member, ...extra] = rest;
      if ((sub !== "add-member" && sub !== "remove-member") || !group || !member || extra.length) throw new UsageError("group takes: add-member|remove-member GROUP MEMBER");
      return withDatabase(async () => {
        if (sub === "add-member") {
          const r = await addGroupMember(cliAdmin(), group, { member });
          console.log(`Added ${r.membership.member} to ${group}${r.revision === null ? "" : ` (revision ${r.revision})`}.`);
        } else {
          const r = await removeGroupMember(cliAdmin(), group, member);
          console.log(`Removed ${member} from ${group}${r.revision === null ? "" : ` (revision ${r.revision})`}.`);
        }
      });
    }
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

/**
 * Runs a command's `body` with the configured database (an embedded one is started, and stopped
 * after, once the client's connections are closed): the body's exit code, 0 by default.
 */
async function withDatabase(body: () => Promise<number | void>): Promise<number> {
  const database = await resolveDatabase(env());
  try {
    return (await body()) ?? 0;
  } finally {
    await db().$disconnect().catch(() => {});
    await database.stop();
  }
}

/**
 * `policy add-binding | remove-binding`, as gcloud's add-/remove-iam-policy-binding: a
 * read-modify-write with the policy's etag through the same edits as the console's IAP panel
 * (lib/console/iap-edit.ts); a concurrent change is reported, never overwritten.
 */
async function policyBinding(sub: "add-binding" | "remove-binding", resource: string | undefined, args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      member: { type: "string" },
      role: { type: "string" },
      "condition-title": { type: "string" },
      "condition-expression": { type: "string" },
      "condition-description": { type: "string" },
    },
  });
  if (!resource || resource.startsWith("-") || !values.member || !values.role) throw new UsageError(`policy ${sub} takes: RESOURCE --member MEMBER --role ROLE`);
  const title = values["condition-title"];
  const expression = values["condition-expression"];
  const description = values["condition-description"];
  if (sub === "add-binding" && (title === undefined) !== (expression === undefined)) throw new UsageError("a condition needs both --condition-title and --condition-expression");
  if (sub === "remove-binding" && (expression !== undefined || description !== undefined)) throw new UsageError("policy remove-binding picks a conditional binding by --condition-title");
  const { member, role } = values;
  return withDatabase(async () => {
    const admin = cliAdmin();
    const policy = await getIamPolicy(admin, resource, { options: { requestedPolicyVersion: 3 } });
    let result: EditResult;
    if (sub === "add-binding") {
      const condition = title !== undefined ? { title, expression: expression!, ...(description ? { description } : {}) } : undefined;
      result = await addPrincipals(admin, { targets: [{ resource, etag: policy.etag }], members: [member], role, ...(condition ? { condition } : {}) });
    } else {
      const holding = policy.bindings.filter((b) => b.role === role && b.members.includes(member) && (title === undefined || b.condition?.title === title));
      if (holding.length === 0) throw new AppError("NOT_FOUND", `${member} does not hold ${role}${title !== undefined ? ` with condition “${title}”` : ""} on ${resource}`);
      if (holding.length > 1) {
        const titles = holding.map((b) => (b.condition ? `“${b.condition.title}”` : "no condition")).join(", ");
        throw new AppError("INVALID_ARGUMENT", `${member} holds ${role} on ${resource} in ${holding.length} bindings (${titles}): say which with --condition-title`);
      }
      const condition = holding[0]!.condition;
      result = await removePrincipal(admin, { resource, etag: policy.etag, role, member, ...(condition ? { condition } : {}) });
    }
    if (result.conflict) {
      throw new AppError("ABORTED", `the policy of ${resource} changed while this command ran (${describeDeltas(result.conflict.changes).join("; ")}): run it again`);
    }
    const w = result.written[0]!;
    if (w.revision === null) console.log(`No changes: the policy of ${resource} already says so.`);
    else console.log(`${sub === "add-binding" ? `Granted ${role} to` : `Removed ${role} from`} ${member} on ${resource} at revision ${w.revision} (etag ${w.etag}).`);
  });
}

/** The servers' AUTH_SECRET: from the environment, else the one generated under the data directory. */
function authSecret(): string {
  const config = env();
  return resolveAuthSecret(config.GATEHOUSE_DATA_DIR, config.AUTH_SECRET).secret;
}

function readFile(file: string): string {
  try {
    return fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new AppError("NOT_FOUND", `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? e}`);
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    if (e instanceof UsageError) {
      console.error(`error: ${e.message}\n\n${USAGE}`);
      process.exit(2);
    }
    if (e instanceof AppError) {
      console.error(`error: ${e.message}`);
      for (const d of e.details) console.error(`  ${d.path ? `${d.path}: ` : ""}${d.message}`);
      process.exit(1);
    }
    // System errors too (a file that cannot be written, a disk that is full): one line, no stack.
    if (e instanceof ConfigError || e instanceof DatabaseUnavailableError || e instanceof MigrationError || (e as NodeJS.ErrnoException).syscall) {
      console.error(`error: ${(e as Error).message}`);
      process.exit(1);
    }
    console.error(e);
    process.exit(1);
  },
);
