// Where sign-in may send the browser afterwards: a path on Gatehouse itself, or — for apps behind
// a proxy that uses forward-auth — an http(s) URL on a host inside GATEHOUSE_COOKIE_DOMAIN, where
// the session cookie is valid. Everything else falls back to the console (no open redirects).

export function cookieDomainMatches(host: string, cookieDomain: string | undefined): boolean {
  if (!cookieDomain) return false;
  const d = cookieDomain.replace(/^\./, "").toLowerCase();
  const h = host.toLowerCase();
  return h === d || h.endsWith(`.${d}`);
}

export function safeReturnUrl(value: unknown, opts: { publicUrl: string; cookieDomain?: string }, fallback = "/iap"): string {
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
  if (url.origin === new URL(opts.publicUrl).origin) return url.toString();
  return cookieDomainMatches(url.hostname, opts.cookieDomain) ? url.toString() : fallback;
}
