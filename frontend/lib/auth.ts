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
import { parseDuration } from "./duration";
import { originOf, readEnv } from "./env";

export interface AuthSettings {
  baseURL: string;
  secret: string | undefined;
  issuer: string;
  audience: string;
  expirationTime: string;
  rateLimit: boolean;
  /** Where rate-limit counters live: the database when replicas share one (PostgreSQL). */
  rateLimitStorage: "database" | "memory";
  trustedOrigins: string[];
  /** DPOP_NONCE=on: the bound-token endpoint hands out and requires server nonces. */
  dpopNonce: boolean;
  keyAlgorithm: "RS256";
  /** Seconds a signing key signs before the next token gets a new one. */
  rotationInterval: number;
  /** Seconds a retired key stays in the JWKS, so tokens it signed still verify. */
  gracePeriod: number;
  /** `Cache-Control: max-age` of the JWKS: how soon verifiers see a key leave. */
  jwksMaxAge: number;
  /** Why the configuration works but is unwise; printed once at start-up. */
  warnings: string[];
}

export const DEFAULT_ROTATION_INTERVAL = "30d";
export const DEFAULT_GRACE_PERIOD = "1d";
/** The backend's default cap on a token's lifetime (JWT_MAX_LIFETIME_SECONDS). */
const BACKEND_MAX_LIFETIME = 3600;
/** The largest leeway the backend may apply (JWT_LEEWAY_SECONDS). */
const BACKEND_MAX_LEEWAY = 30;

function durationSetting(name: string, fallback: string): number {
  const text = readEnv(name) ?? fallback;
  const seconds = parseDuration(text);
  if (seconds === undefined || seconds < 1) {
    throw new AuthConfigError(`${name} is not a duration of at least 1s (e.g. 30d, 12h, 900): ${text}`);
  }
  return seconds;
}

/** A refresh every quarter of the grace period, at most every 5 minutes, at least every second. */
export function jwksMaxAgeFor(gracePeriod: number): number {
  return Math.max(1, Math.min(300, Math.floor(gracePeriod / 4)));
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
  const expirationTime = readEnv("JWT_EXPIRATION") ?? "15m";
  const rotationInterval = durationSetting("JWKS_ROTATION_INTERVAL", DEFAULT_ROTATION_INTERVAL);
  const gracePeriod = durationSetting("JWKS_GRACE_PERIOD", DEFAULT_GRACE_PERIOD);
  const warnings: string[] = [];
  const lifetime = parseDuration(expirationTime);
  if (lifetime !== undefined && gracePeriod < lifetime + BACKEND_MAX_LEEWAY) {
    warnings.push(
      `JWKS_GRACE_PERIOD (${gracePeriod}s) is shorter than JWT_EXPIRATION plus ${BACKEND_MAX_LEEWAY}s: ` +
        "tokens signed just before a rotation stop verifying before they expire (one renewal each)",
    );
  }
  if (lifetime !== undefined && lifetime > BACKEND_MAX_LIFETIME) {
    warnings.push(
      `JWT_EXPIRATION (${lifetime}s) is longer than the backend accepts by default ` +
        `(JWT_MAX_LIFETIME_SECONDS=${BACKEND_MAX_LIFETIME}): raise it there too`,
    );
  }
  return {
    baseURL,
    secret,
    issuer: readEnv("JWT_ISSUER") ?? origin,
    audience: readEnv("JWT_AUDIENCE") ?? origin,
    expirationTime,
    rateLimit: (readEnv("AUTH_RATE_LIMIT") ?? "on").toLowerCase() !== "off",
    rateLimitStorage: parseDatabaseUrl(readEnv("DATABASE_URL")).kind === "postgres" ? "database" : "memory",
    trustedOrigins: [...new Set([origin, ...(publicOrigin ? [publicOrigin] : [])])],
    dpopNonce: (readEnv("DPOP_NONCE") ?? "off").toLowerCase() === "on",
    keyAlgorithm: "RS256",
    rotationInterval,
    gracePeriod,
    jwksMaxAge: jwksMaxAgeFor(gracePeriod),
    warnings,
  };
}

function createAuth(settings: AuthSettings, database: AuthDatabase) {
  // One set of JWT options for `/token` and `/dpop/token`: same keys, lifetime, iss and aud.
  const jwtOptions = {
    // RS256 must be configured before the first key is created: an existing key keeps its algorithm.
    jwks: {
      keyPairConfig: { alg: settings.keyAlgorithm, modulusLength: 2048 },
      // A key signs for rotationInterval, then stays published for gracePeriod.
      rotationInterval: settings.rotationInterval,
      gracePeriod: settings.gracePeriod,
    },
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
      // In memory, every replica would count on its own and multiply the limits.
      storage: settings.rateLimitStorage,
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
  settings: AuthSettings;
}

let state: AuthState | undefined;

// Created on first use, not at import: `next build` loads route modules without a
// run-time environment (no secret, no database).
function authState(): AuthState {
  if (!state) {
    const settings = loadAuthSettings();
    const database = openAuthDatabase(parseDatabaseUrl(readEnv("DATABASE_URL")));
    state = { auth: createAuth(settings, database), database, settings };
  }
  return state;
}

export function getAuth(): Auth {
  return authState().auth;
}

export function getAuthSettings(): AuthSettings {
  return authState().settings;
}

/** The JWKS response, told how long verifiers may cache it (rotation makes it change). */
export function withKeySetCaching(request: Request, response: Response): Response {
  if (!new URL(request.url).pathname.endsWith("/jwks") || response.status !== 200) return response;
  const headers = new Headers(response.headers);
  headers.set("Cache-Control", `public, max-age=${getAuthSettings().jwksMaxAge}`);
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
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
