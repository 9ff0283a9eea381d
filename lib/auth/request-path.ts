/** Set by lib/server on every request handed to Next (overwriting any client-sent value), so a
 * sign-in redirect can return to the page that was asked for. */
export const REQUEST_PATH_HEADER = "x-gatehouse-path";

/** Where a user signed in with a one-time password chooses a new one before anything else. */
export const NEW_PASSWORD_PATH = "/signin/new-password";
