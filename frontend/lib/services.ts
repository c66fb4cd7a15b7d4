import type { QueryClient } from "@tanstack/react-query";
import { toastSessionExpired } from "./session-toast";

import { type ApiLogEntry, ApiClient } from "./api/client";
import { ApiError, defaultMessage, kindForStatus } from "./api/errors";
import { createQueryClient } from "./api/query";
import { type TasksApi, tasksApi } from "./api/tasks";
import { type FetchToken, TokenManager } from "./api/token";
import { type AppAuthClient, authBaseUrl, createAppAuthClient } from "./auth-client";
import { DpopKeyStore, indexedDbStorage } from "./dpop/keys";
import { DpopProofs } from "./dpop/proofs";
import { DPOP_TOKEN_PATH } from "./dpop/token-path";
import type { PublicConfig } from "./env";
import { createSessionExpiredHandler } from "./session-expiry";

export interface Services {
  config: PublicConfig;
  authClient: AppAuthClient;
  tokens: TokenManager;
  api: ApiClient;
  tasks: TasksApi;
  queryClient: QueryClient;
  /** Forget everything tied to the current user (after sign-in or sign-out). */
  resetSession: () => void;
}

function logToConsole(entry: ApiLogEntry): void {
  console.debug(
    `[api] ${entry.method} ${entry.url} → ${entry.status} in ${entry.durationMs} ms` +
      (entry.requestId ? ` (request ${entry.requestId})` : "") +
      (entry.attempt > 1 ? ` [retry after renewal]` : ""),
  );
}

function tokenError(status: number | undefined, method: "GET" | "POST"): ApiError {
  const kind = status ? kindForStatus(status) : "network";
  return new ApiError({ kind, method, status: status || null, message: defaultMessage(kind) });
}

/** Better Auth's plain token (`GET /api/auth/token`), for a stack without token binding. */
function bearerTokens(authClient: AppAuthClient): FetchToken {
  return async () => {
    const { data, error } = await authClient.token();
    if (error) {
      if (error.status === 401) return null;
      throw tokenError(error.status, "GET");
    }
    return data?.token ?? null;
  };
}

/** A token bound to the browser's key, issued against a proof of that key. */
function boundTokens(tokenUrl: string, proofs: DpopProofs): FetchToken {
  const request = async () =>
    fetch(tokenUrl, {
      method: "POST",
      // Better Auth accepts POSTs with a JSON body only (415 otherwise).
      headers: {
        DPoP: await proofs.proof("POST", tokenUrl),
        Accept: "application/json",
        "Content-Type": "application/json",
      },
      body: "{}",
      credentials: "include",
      cache: "no-store",
    });
  return async () => {
    let response = await request();
    // Asked for a server nonce (RFC 9449 section 8): once more with it.
    if (proofs.useNonce(tokenUrl, response)) response = await request();
    if (response.status === 401) return null;
    if (!response.ok) throw tokenError(response.status, "POST");
    const body = (await response.json()) as { token?: unknown };
    return typeof body.token === "string" ? body.token : null;
  };
}

export function createServices(config: PublicConfig): Services {
  const authClient = createAppAuthClient(config.authUrl);
  const queryClient = createQueryClient();
  const proofs = config.tokenBinding ? new DpopProofs(new DpopKeyStore(indexedDbStorage())) : null;

  const tokens = new TokenManager(
    proofs ? boundTokens(`${authBaseUrl(config.authUrl)}${DPOP_TOKEN_PATH}`, proofs) : bearerTokens(authClient),
  );

  const resetSession = () => {
    tokens.clear();
    queryClient.clear();
    // A new session gets a new key; a signed-out profile keeps none.
    void proofs?.clear();
  };

  const onUnauthorized = createSessionExpiredHandler({
    signOut: () => authClient.signOut(),
    forget: resetSession,
    notify: toastSessionExpired,
    navigate: (url) => window.location.assign(url),
    currentPath: () => `${window.location.pathname}${window.location.search}`,
  });

  const api = new ApiClient({
    baseUrl: config.apiUrl,
    tokens,
    proof: proofs ?? undefined,
    onUnauthorized,
    log: process.env.NODE_ENV === "development" ? logToConsole : undefined,
  });

  return { config, authClient, tokens, api, tasks: tasksApi(api), queryClient, resetSession };
}
