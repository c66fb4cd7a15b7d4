import { jwtClient } from "better-auth/client/plugins";
import { createAuthClient } from "better-auth/react";

/** Better Auth's browser client for the origin the server handed over at request time. */
export function createAppAuthClient(baseURL: string) {
  return createAuthClient({ baseURL, plugins: [jwtClient()] });
}

export type AppAuthClient = ReturnType<typeof createAppAuthClient>;

/** Better Auth's endpoint base for `authUrl`: an origin gets `/api/auth`, as the client does. */
export function authBaseUrl(authUrl: string): string {
  const url = new URL(authUrl);
  const path = url.pathname.replace(/\/+$/, "");
  return `${url.origin}${path || "/api/auth"}`;
}
