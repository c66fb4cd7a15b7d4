import { toNextJsHandler } from "better-auth/next-js";

import { getAuth } from "@/lib/auth";

export const dynamic = "force-dynamic";

// Resolved per request so that `next build` never constructs the auth server.
export const { GET, POST, PATCH, PUT, DELETE } = toNextJsHandler((request) => getAuth().handler(request));
