/** Where a signed-in user lands when `next` is missing or not acceptable. */
export const DEFAULT_AFTER_LOGIN = "/tasks";

const PROBE_ORIGIN = "http://same-origin.invalid";
// Pages that would bounce straight back, and routes that are not pages at all.
const REFUSED_ROOTS = ["/login", "/signup", "/api"];
// Control characters and whitespace: browsers strip tabs/newlines, turning "/\t/x" into "//x".
const UNSAFE_CHARS = /[\u0000-\u0020\u007f\\]/;

function fullyDecoded(value: string): string | null {
  let current = value;
  for (let i = 0; i < 5; i += 1) {
    let next: string;
    try {
      next = decodeURIComponent(current);
    } catch {
      return null;
    }
    if (next === current) return current;
    current = next;
  }
  return null;
}

function looksSafe(path: string): boolean {
  return path.startsWith("/") && !path.startsWith("//") && !UNSAFE_CHARS.test(path);
}

/**
 * Accepts only a same-origin absolute path (with optional query and fragment) as a
 * post-login target; anything else, including encoded tricks such as `/%2F%2Fevil`
 * or `/%5Cevil`, yields {@link DEFAULT_AFTER_LOGIN}.
 */
export function safeNextPath(raw: string | string[] | null | undefined): string {
  const value = Array.isArray(raw) ? raw[0] : raw;
  if (typeof value !== "string" || value.length === 0 || value.length > 2048) {
    return DEFAULT_AFTER_LOGIN;
  }
  const decoded = fullyDecoded(value);
  if (decoded === null || !looksSafe(value) || !looksSafe(decoded)) return DEFAULT_AFTER_LOGIN;

  let parsed: URL;
  try {
    parsed = new URL(value, PROBE_ORIGIN);
  } catch {
    return DEFAULT_AFTER_LOGIN;
  }
  if (parsed.origin !== PROBE_ORIGIN) return DEFAULT_AFTER_LOGIN;

  const pathname = parsed.pathname;
  const refused = REFUSED_ROOTS.some((root) => pathname === root || pathname.startsWith(`${root}/`));
  if (refused) return DEFAULT_AFTER_LOGIN;
  return `${pathname}${parsed.search}${parsed.hash}`;
}

/** `/login?next=<path>` for a path the user was on (or trying to reach). */
export function loginUrlFor(pathWithQuery: string): string {
  return `/login?next=${encodeURIComponent(safeNextPath(pathWithQuery))}`;
}
