// Where sign-in may send the browser afterwards: a path on Gatehouse itself, or a URL on its own
// origin (no open redirects). Applications are reached through the application-session exchange
// (lib/decide/app-session.ts), whose start URL is on Gatehouse's origin: the console's session
// never needs to, and never does, travel to an application's host.

export function safeReturnUrl(value: unknown, opts: { publicUrl: string }, fallback = "/iap"): string {
  if (typeof value !== "string" || value.length === 0 || value.length > 4096) return fallback;
  if (value.startsWith("/") && !value.startsWith("//") && !value.startsWith("/\\")) return value;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return fallback;
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return fallback;
  if (url.username || url.password) return fallback;
  return url.origin === new URL(opts.publicUrl).origin ? url.toString() : fallback;
}
