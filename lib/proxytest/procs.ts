// Child processes for the proxy tests and the decision benchmark: real nginx, Caddy and
// Gatehouse, each in its own process group so that stopping it also stops its workers.
//
// INVARIANTS: every wait is bounded; every process started here is stopped by `stop()`, by
// `stopAll()` (afterAll), or — if the test worker dies first — by the synchronous exit hook.
// Only processes started here are signalled, by their own group id.
import { spawn, type ChildProcess, type SpawnOptions } from "node:child_process";
import net from "node:net";
import http from "node:http";

export interface Proc {
  name: string;
  pid: number;
  /** Resolves with the exit code (or signal name) once the process has exited. */
  exited: Promise<number | string>;
  /** True once the process has exited. */
  readonly done: boolean;
  /** Everything the process wrote to stdout and stderr so far (last 64 KiB). */
  output(): string;
  /** SIGTERM to the process group, SIGKILL after `graceMs`; resolves when the process has exited. */
  stop(graceMs?: number): Promise<void>;
}

const running = new Set<Proc>();
let hooked = false;

function killGroup(pid: number, signal: NodeJS.Signals) {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

/** Starts `command` in its own process group, capturing its output. */
export function spawnProc(name: string, command: string, args: string[], options: SpawnOptions = {}): Proc {
  if (!hooked) {
    hooked = true;
    // Last resort when the worker exits without afterAll (crash, timeout): synchronous SIGKILL.
    process.on("exit", () => {
      for (const p of running) if (!p.done) killGroup(p.pid, "SIGKILL");
    });
  }
  const child: ChildProcess = spawn(command, args, { ...options, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  if (child.pid === undefined) throw new Error(`${name}: could not start ${command}`);
  let buf = "";
  const append = (d: Buffer) => {
    buf += d.toString();
    if (buf.length > 65536) buf = buf.slice(-65536);
    if (process.env.GATEHOUSE_TEST_VERBOSE) process.stderr.write(`[${name}] ${d.toString()}`);
  };
  child.stdout?.on("data", append);
  child.stderr?.on("data", append);
  let done = false;
  const exited = new Promise<number | string>((resolve) => {
    child.on("exit", (code, signal) => {
      done = true;
      running.delete(proc);
      resolve(code ?? signal ?? "unknown");
    });
    child.on("error", (e) => {
      buf += `\n[spawn error] ${e.message}`;
      done = true;
      running.delete(proc);
      resolve("spawn-error");
    });
  });
  const pid = child.pid;
  const proc: Proc = {
    name,
    pid,
    exited,
    get done() {
      return done;
    },
    output: () => buf,
    async stop(graceMs = 5000) {
      if (done) return;
      killGroup(pid, "SIGTERM");
      const timer = setTimeout(() => killGroup(pid, "SIGKILL"), graceMs);
      await exited;
      clearTimeout(timer);
      // Workers (nginx) may outlive the master by a moment: make sure the group is gone.
      killGroup(pid, "SIGKILL");
    },
  };
  running.add(proc);
  return proc;
}

/** Stops every process started by this module that is still running. */
export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((p) => p.stop()));
}

/** A free TCP port on 127.0.0.1 (asked from the kernel, then released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** Polls `probe` every `intervalMs` until it returns a truthy value; throws after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  { timeoutMs = 15_000, intervalMs = 50, proc }: { timeoutMs?: number; intervalMs?: number; proc?: Proc } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    if (proc?.done) throw new Error(`${proc.name} exited while waiting for ${what}:\n${proc.output()}`);
    try {
      const v = await probe();
      if (v) return v;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() > deadline) {
      const detail = lastError instanceof Error ? ` (last error: ${lastError.message})` : "";
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${detail}${proc ? `\n${proc.name} output:\n${proc.output()}` : ""}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  json<T = unknown>(): T;
}

/**
 * One HTTP/1.1 request with the path sent byte for byte (fetch/URL would resolve `/x/../admin`
 * and friends before sending — exactly what these tests must not do). Bounded by `timeoutMs`.
 */
export function rawRequest(options: {
  port: number;
  path: string;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  timeoutMs?: number;
}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: "127.0.0.1",
        port: options.port,
        path: options.path,
        method: options.method ?? "GET",
        headers: options.headers,
        agent: false,
        timeout: options.timeoutMs ?? 10_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const body = Buffer.concat(chunks).toString();
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body,
            json: <T>() => JSON.parse(body) as T,
          });
        });
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`request to 127.0.0.1:${options.port}${options.path} timed out`)));
    req.on("error", reject);
    req.end(options.body);
  });
}
