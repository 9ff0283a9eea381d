/** Set by lib/server on every request handed to Next, from the socket's remote address
 * (overwriting any client-sent value): the client address that sign-in throttling counts. A
 * header a client could send (X-Forwarded-For…) is never used for it. */
export const CLIENT_ADDRESS_HEADER = "x-gatehouse-client-address";
