// `npm run gatehouse -- …` against the running e2e server's database (the embedded PostgreSQL in
// its data directory), as an operator would run it next to the server.
import { spawn } from "node:child_process";
import { E2E } from "./env";

export function gatehouse(...args: string[]): Promise<{ stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_ENV: "production", GATEHOUSE_DATA_DIR: E2E.dataDir, DATABASE_URL: "", AUTH_SECRET: E2E.authSecret, GATEHOUSE_PUBLIC_URL: E2E.baseURL };
  return new Promise((resolve, reject) => {
    const cli = spawn(process.execPath, ["--import", "tsx", "lib/cli/main.ts", ...args], { env });
    let stdout = "";
    let stderr = "";
    cli.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    cli.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    cli.on("exit", (c) => (c === 0 ? resolve({ stdout, stderr }) : reject(new Error(`gatehouse ${args.join(" ")} exited ${c}: ${stderr}`))));
  });
}

/** The last word of a command's output: where the CLI prints a secret. */
export const lastWord = (s: string) => s.trim().split(/\s+/).at(-1)!;
