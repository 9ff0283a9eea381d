// What the custom server records on a request before handing it to Next.js. Each header is
// overwritten here, so whatever a client sent under that name never reaches the console.
import type { IncomingMessage } from "node:http";
import { CLIENT_ADDRESS_HEADER } from "@/lib/auth/client-address";
import { REQUEST_PATH_HEADER } from "@/lib/auth/request-path";

export function stampForNext(req: IncomingMessage): void {
  // For the console's sign-in redirect.
  req.headers[REQUEST_PATH_HEADER] = req.url ?? "/";
  // The peer of this TCP connection, for sign-in throttling — never a client-sent header.
  req.headers[CLIENT_ADDRESS_HEADER] = req.socket.remoteAddress ?? "";
}
