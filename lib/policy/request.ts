/**
 * IAP request semantics for host and path.
 *
 * INVARIANT: an allow condition must hold for every path variant (raw and normalised) and a deny
 * condition fires if it holds (or errors) for any variant, so normalisation can only ever make a
 * decision stricter, never looser.
 */

/** Lower-case, without a trailing dot and without a port. */
export function normaliseHost(host: string): string {
  let h = host.trim().toLowerCase();
  if (h.startsWith("[")) {
    const end = h.indexOf("]");
    if (end > 0) h = h.slice(0, end + 1);
  } else {
    const colon = h.lastIndexOf(":");
    if (colon >= 0 && h.indexOf(":") === colon && /^\d*$/.test(h.slice(colon + 1))) h = h.slice(0, colon);
  }
  while (h.endsWith(".")) h = h.slice(0, -1);
  return h;
}

/** The path as received, without query string or fragment. An empty path is "/". */
export function rawPath(path: string): string {
  let p = path;
  const q = p.search(/[?#]/);
  if (q >= 0) p = p.slice(0, q);
  return p === "" ? "/" : p;
}

const MAX_DECODE_ROUNDS = 3;
/** Starts with "/", and has no character normalisation acts on (`?#%\;`). */
const CLEAN_PATH_RE = /^\/[^?#%\\;]*$/;

/** Decodes %XX escapes of ASCII characters (multi-byte sequences stay encoded, hex upper-cased). */
function decodeAsciiEscapes(p: string): string {
  return p.replace(/%([0-9a-fA-F]{2})/g, (_m, hex: string) => {
    const code = parseInt(hex, 16);
    return code < 0x80 ? String.fromCharCode(code) : `%${hex.toUpperCase()}`;
  });
}

/**
 * Normalised path: query removed; ASCII percent-escapes decoded (repeatedly, so double encoding
 * cannot hide a segment); backslashes treated as slashes; `;params` removed from every segment;
 * empty segments collapsed; `.` and `..` resolved (never above the root); a trailing slash kept.
 */
export function normalisePath(path: string): string {
  // Fast path: a path with nothing to normalise is its own normal form (no query, escape,
  // backslash or parameter; no empty, "." or ".." segment — any "/." takes the long way).
  if (CLEAN_PATH_RE.test(path) && !path.includes("//") && !path.includes("/.")) return path;
  return normalisePathFully(path);
}

/** `normalisePath` without the fast path (exported for the test that pins their equality). */
export function normalisePathFully(path: string): string {
  let p = rawPath(path);
  for (let i = 0; i < MAX_DECODE_ROUNDS; i++) {
    const next = decodeAsciiEscapes(p);
    if (next === p) break;
    p = next;
  }
  p = p.replace(/\\/g, "/");
  const trailing = p.endsWith("/") || p.endsWith("/.") || p.endsWith("/..");
  const out: string[] = [];
  for (const rawSeg of p.split("/")) {
    const semi = rawSeg.indexOf(";");
    const seg = semi >= 0 ? rawSeg.slice(0, semi) : rawSeg;
    if (seg === "" || seg === ".") continue;
    if (seg === "..") {
      out.pop();
      continue;
    }
    out.push(seg);
  }
  let result = "/" + out.join("/");
  if (trailing && out.length > 0) result += "/";
  return result;
}

/**
 * The normal form of a host-mapping path prefix: the normalised path without trailing slash, and
 * "" for the root (a prefix of "/" is the same as none: the host's fallback). A prefix matches a
 * path that equals it or continues it with "/" (whole segments: "/app" never matches "/application").
 */
export function normalisePathPrefix(prefix: string | undefined): string {
  if (prefix === undefined || prefix === "") return "";
  let p = normalisePath(prefix.startsWith("/") ? prefix : `/${prefix}`);
  while (p.endsWith("/")) p = p.slice(0, -1);
  return p;
}

/** Whether a path lies under a prefix in normal form ("" = every path), by whole segments. */
export function underPrefix(path: string, prefix: string): boolean {
  if (prefix === "") return true;
  return path.startsWith(prefix) && (path.length === prefix.length || path.charCodeAt(prefix.length) === 47 /* "/" */);
}

/** Distinct path values a condition must be evaluated against: normalised first, then raw if different. */
export function pathVariants(path: string | undefined): Array<string | undefined> {
  if (path === undefined) return [undefined];
  const n = normalisePath(path);
  const r = rawPath(path);
  return n === r ? [n] : [n, r];
}
