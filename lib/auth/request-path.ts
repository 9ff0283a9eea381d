/** Set by lib/server on every request handed to Next (overwriting any client-sent value), so a
 * sign-in redirect can return to the page that was asked for. */
export const REQUEST_PATH_HEADER = "x-gatehouse-path";
