import { toNextJsHandler } from "better-auth/next-js";

import { getAuth, withKeySetCaching } from "@/lib/auth";

export const dynamic = "force-dynamic";

// Resolved per request so that `next build` never constructs the auth server.
const handlers = toNextJsHandler((request) => getAuth().handler(request));

export const { POST, PATCH, PUT, DELETE } = handlers;

export async function GET(request: Request): Promise<Response> {
  return withKeySetCaching(request, await handlers.GET(request));
}
