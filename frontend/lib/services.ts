import type { QueryClient } from "@tanstack/react-query";
import { toastSessionExpired } from "./session-toast";

import { type ApiLogEntry, ApiClient } from "./api/client";
import { ApiError, defaultMessage, kindForStatus } from "./api/errors";
import { createQueryClient } from "./api/query";
import { type TasksApi, tasksApi } from "./api/tasks";
import { TokenManager } from "./api/token";
import { type AppAuthClient, createAppAuthClient } from "./auth-client";
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

export function createServices(config: PublicConfig): Services {
  const authClient = createAppAuthClient(config.authUrl);
  const queryClient = createQueryClient();

  const tokens = new TokenManager(async () => {
    const { data, error } = await authClient.token();
    if (error) {
      if (error.status === 401) return null;
      const kind = error.status ? kindForStatus(error.status) : "network";
      throw new ApiError({ kind, method: "GET", status: error.status || null, message: defaultMessage(kind) });
    }
    return data?.token ?? null;
  });

  const resetSession = () => {
    tokens.clear();
    queryClient.clear();
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
    onUnauthorized,
    log: process.env.NODE_ENV === "development" ? logToConsole : undefined,
  });

  return { config, authClient, tokens, api, tasks: tasksApi(api), queryClient, resetSession };
}
