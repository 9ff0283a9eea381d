import type { IncomingMessage } from "node:http";
import { describe, expect, it } from "vitest";
import { CLIENT_ADDRESS_HEADER } from "@/lib/auth/client-address";
import { REQUEST_PATH_HEADER } from "@/lib/auth/request-path";
import { stampForNext } from "./next-request";

describe("requests handed to Next", () => {
  it("carry the socket's peer address, whatever the client sent", () => {
    const req = {
      url: "/signin",
      socket: { remoteAddress: "203.0.113.9" },
      headers: { [CLIENT_ADDRESS_HEADER]: "10.0.0.1", "x-forwarded-for": "10.0.0.2", "x-real-ip": "10.0.0.3", [REQUEST_PATH_HEADER]: "/evil" },
    } as unknown as IncomingMessage;
    stampForNext(req);
    expect(req.headers[CLIENT_ADDRESS_HEADER]).toBe("203.0.113.9");
    expect(req.headers[REQUEST_PATH_HEADER]).toBe("/signin");
  });
});
