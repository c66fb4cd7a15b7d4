/**
 * Run-time environment access for server code.
 *
 * Next inlines literal `process.env.NEXT_PUBLIC_*` reads at build time; the image is
 * built once and configured when it starts, so every read goes through a computed key.
 */
export function readEnv(name: string): string | undefined {
  const value = process.env[name];
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  return trimmed === "" ? undefined : trimmed;
}

/** `scheme://host[:port]` of an absolute URL, or undefined when it is not one. */
export function originOf(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    const parsed = new URL(url);
    return parsed.origin === "null" ? undefined : parsed.origin;
  } catch {
    return undefined;
  }
}

export function withoutTrailingSlash(url: string): string {
  return url.replace(/\/+$/, "");
}

/** Values the browser needs, handed from the server at request time. */
export interface PublicConfig {
  /** Base URL of the task API (no trailing slash). */
  apiUrl: string;
  /**
   * Better Auth's base for the browser client: an origin (the client appends `/api/auth`)
   * or a full URL that already ends in the auth path.
   */
  authUrl: string;
  /**
   * DPoP token binding (`DPOP_MODE` other than `off`): the browser's key signs a proof per
   * request and its tokens are bound to that key.
   */
  tokenBinding: boolean;
}

/** `DPOP_MODE`: `off`, `optional` (default) or `required`; the client only needs on or off. */
export function tokenBindingEnabled(): boolean {
  return (readEnv("DPOP_MODE") ?? "optional").toLowerCase() !== "off";
}

export const DEFAULT_API_URL = "http://localhost:8000";

/** The app's own origin as configured (BETTER_AUTH_URL), else the given fallback. */
export function configuredAuthOrigin(fallback?: string): string | undefined {
  return (
    originOf(readEnv("NEXT_PUBLIC_BETTER_AUTH_URL")) ?? originOf(readEnv("BETTER_AUTH_URL")) ?? fallback
  );
}

export function publicConfig(requestOrigin: string): PublicConfig {
  const publicAuthUrl = readEnv("NEXT_PUBLIC_BETTER_AUTH_URL");
  return {
    apiUrl: withoutTrailingSlash(readEnv("NEXT_PUBLIC_API_URL") ?? DEFAULT_API_URL),
    authUrl:
      publicAuthUrl && originOf(publicAuthUrl)
        ? withoutTrailingSlash(publicAuthUrl)
        : (configuredAuthOrigin(requestOrigin) ?? requestOrigin),
    tokenBinding: tokenBindingEnabled(),
  };
}
