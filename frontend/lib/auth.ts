import { betterAuth } from "better-auth";
import { getMigrations } from "better-auth/db/migration";
import { nextCookies } from "better-auth/next-js";
import { jwt } from "better-auth/plugins";

import {
  type AuthDatabase,
  betterAuthDatabase,
  openAuthDatabase,
  parseDatabaseUrl,
  pingAuthDatabase,
} from "./auth-db";
import { ProofNonces } from "./dpop/nonces";
import { dpopToken } from "./dpop/token-plugin";
import { originOf, readEnv } from "./env";

export interface AuthSettings {
  baseURL: string;
  secret: string | undefined;
  issuer: string;
  audience: string;
  expirationTime: string;
  rateLimit: boolean;
  trustedOrigins: string[];
  /** DPOP_NONCE=on: the bound-token endpoint hands out and requires server nonces. */
  dpopNonce: boolean;
}

export class AuthConfigError extends Error {
  override readonly name = "AuthConfigError";
}

/** Reads and checks the auth environment; throws one readable line when it is unusable. */
export function loadAuthSettings(): AuthSettings {
  const production = readEnv("NODE_ENV") === "production";
  const baseURL =
    readEnv("BETTER_AUTH_URL") ??
    originOf(readEnv("NEXT_PUBLIC_BETTER_AUTH_URL")) ??
    `http://localhost:${readEnv("PORT") ?? "3000"}`;
  const origin = originOf(baseURL);
  if (!origin) throw new AuthConfigError(`BETTER_AUTH_URL is not an absolute URL: ${baseURL}`);
  const secret = readEnv("BETTER_AUTH_SECRET");
  if (production && !secret) {
    throw new AuthConfigError("BETTER_AUTH_SECRET must be set in production (a random string of 32+ characters)");
  }
  const publicOrigin = originOf(readEnv("NEXT_PUBLIC_BETTER_AUTH_URL"));
  return {
    baseURL,
    secret,
    issuer: readEnv("JWT_ISSUER") ?? origin,
    audience: readEnv("JWT_AUDIENCE") ?? origin,
    expirationTime: readEnv("JWT_EXPIRATION") ?? "15m",
    rateLimit: (readEnv("AUTH_RATE_LIMIT") ?? "on").toLowerCase() !== "off",
    trustedOrigins: [...new Set([origin, ...(publicOrigin ? [publicOrigin] : [])])],
    dpopNonce: (readEnv("DPOP_NONCE") ?? "off").toLowerCase() === "on",
  };
}

function createAuth(settings: AuthSettings, database: AuthDatabase) {
  // One set of JWT options for `/token` and `/dpop/token`: same keys, lifetime, iss and aud.
  const jwtOptions = {
    // RS256 must be configured before the first key is created: an existing key keeps its algorithm.
    jwks: { keyPairConfig: { alg: "RS256" as const, modulusLength: 2048 } },
    jwt: {
      issuer: settings.issuer,
      audience: settings.audience,
      expirationTime: settings.expirationTime,
      // The backend needs the subject only; iat/exp/iss/aud/sub are added by the plugin.
      definePayload: () => ({}),
    },
  };
  return betterAuth({
    appName: "Tasks",
    baseURL: settings.baseURL,
    secret: settings.secret,
    database: betterAuthDatabase(database),
    trustedOrigins: settings.trustedOrigins,
    emailAndPassword: {
      enabled: true,
      autoSignIn: true,
      minPasswordLength: 8,
      maxPasswordLength: 128,
    },
    rateLimit: {
      enabled: settings.rateLimit,
      storage: "memory",
      window: 60,
      max: 300,
      customRules: {
        // Per client IP: enough for typing mistakes, too little for password guessing.
        "/sign-in/email": { window: 60, max: 10 },
        "/sign-up/email": { window: 60, max: 5 },
      },
    },
    telemetry: { enabled: false },
    plugins: [
      jwt(jwtOptions),
      dpopToken({ jwt: jwtOptions, nonces: settings.dpopNonce ? new ProofNonces(settings.secret) : undefined }),
      nextCookies(),
    ],
  });
}

export type Auth = ReturnType<typeof createAuth>;

interface AuthState {
  auth: Auth;
  database: AuthDatabase;
}

let state: AuthState | undefined;

// Created on first use, not at import: `next build` loads route modules without a
// run-time environment (no secret, no database).
function authState(): AuthState {
  if (!state) {
    const settings = loadAuthSettings();
    const database = openAuthDatabase(parseDatabaseUrl(readEnv("DATABASE_URL")));
    state = { auth: createAuth(settings, database), database };
  }
  return state;
}

export function getAuth(): Auth {
  return authState().auth;
}

export function checkAuthDatabase(): Promise<void> {
  return pingAuthDatabase(authState().database);
}

/** Creates or updates Better Auth's tables; safe to run on every start. */
export async function migrateAuthDatabase(): Promise<{ created: string[]; altered: string[] }> {
  const { toBeCreated, toBeAdded, runMigrations } = await getMigrations(getAuth().options);
  await runMigrations();
  return { created: toBeCreated.map((t) => t.table), altered: toBeAdded.map((t) => t.table) };
}
