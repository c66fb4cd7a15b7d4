import { headers } from "next/headers";

import { getAuth } from "./auth";

/** The real session (cookie checked against the database), or null. */
export async function currentSession() {
  return getAuth().api.getSession({ headers: await headers() });
}

export type AppSession = NonNullable<Awaited<ReturnType<typeof currentSession>>>;

/** Origin the browser used for this request; only a fallback when BETTER_AUTH_URL is unset. */
export function requestOrigin(requestHeaders: Headers): string {
  const host = requestHeaders.get("x-forwarded-host") ?? requestHeaders.get("host") ?? "localhost:3000";
  const proto = requestHeaders.get("x-forwarded-proto") ?? "http";
  return `${proto.split(",")[0]?.trim() || "http"}://${host.split(",")[0]?.trim()}`;
}
