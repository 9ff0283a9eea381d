// Small node:http helpers shared by the hot paths (lib/decide/http.ts) and the admin API
// (lib/admin/http.ts), both answered by the custom server without Next.js.
import type { IncomingMessage, ServerResponse } from "node:http";
import { AppError } from "@/lib/errors";

const JSON_HEADERS = { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" } as const;

export function sendJson(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { ...JSON_HEADERS, "content-length": Buffer.byteLength(text).toString(), ...headers });
  res.end(text);
}

export function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  sendJson(res, status, JSON.stringify(body), headers);
}

/** The request body as text; PAYLOAD_TOO_LARGE (and stop reading) past `limit` bytes. */
export function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        req.removeListener("data", onData);
        reject(new AppError("PAYLOAD_TOO_LARGE", `request body larger than ${limit} bytes`));
        return;
      }
      chunks.push(c);
    };
    req.on("data", onData);
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new AppError("INVALID_ARGUMENT", "the body is not valid JSON");
  }
}

export function bearer(value: string | string[] | undefined): string | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  const m = v?.match(/^Bearer\s+(\S+)\s*$/i);
  return m?.[1];
}

export function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** The socket's peer address (IPv4-mapped IPv6 as IPv4). */
export function remoteIp(req: IncomingMessage): string | undefined {
  const a = req.socket.remoteAddress;
  return a?.startsWith("::ffff:") ? a.slice(7) : a;
}
