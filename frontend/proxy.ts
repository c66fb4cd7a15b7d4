import { getSessionCookie } from "better-auth/cookies";
import { type NextRequest, NextResponse } from "next/server";

import { buildCsp, createNonce } from "@/lib/csp";
import { DEFAULT_API_URL, configuredAuthOrigin, originOf, readEnv } from "@/lib/env";

const PROTECTED_ROOTS = ["/tasks"];

function isProtected(pathname: string): boolean {
  return PROTECTED_ROOTS.some((root) => pathname === root || pathname.startsWith(`${root}/`));
}

/**
 * Optimistic gate: without a session cookie a protected page redirects to /login with
 * the original path and query in `next`. Server components still check the session
 * itself. Every page also gets its CSP here: a fresh nonce and the run-time API origin.
 */
export function proxy(request: NextRequest): NextResponse {
  const { pathname, search } = request.nextUrl;
  if (isProtected(pathname) && !getSessionCookie(request)) {
    // Resolved against the request URL, i.e. the host and port the browser used.
    return NextResponse.redirect(new URL(`/login?next=${encodeURIComponent(`${pathname}${search}`)}`, request.url));
  }

  const nonce = createNonce();
  const connectOrigins = [originOf(readEnv("NEXT_PUBLIC_API_URL") ?? DEFAULT_API_URL), configuredAuthOrigin()].filter(
    (origin): origin is string => origin !== undefined,
  );
  const csp = buildCsp({ nonce, connectOrigins, development: process.env.NODE_ENV === "development" });

  // Next reads the nonce from the request's CSP header and stamps it on its scripts.
  const requestHeaders = new Headers(request.headers);
  requestHeaders.set("Content-Security-Policy", csp);
  const response = NextResponse.next({ request: { headers: requestHeaders } });
  response.headers.set("Content-Security-Policy", csp);
  return response;
}

export const config = {
  matcher: ["/((?!api/|_next/static|_next/image|favicon.ico|robots.txt).*)"],
};
