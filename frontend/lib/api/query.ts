import { QueryClient } from "@tanstack/react-query";

import { isApiError } from "./errors";

export const MAX_RETRIES = 3;
const BASE_DELAY_MS = 500;
const MAX_DELAY_MS = 8_000;

/** Retry only transient failures of idempotent requests, a few times. */
export function shouldRetry(failureCount: number, error: unknown): boolean {
  return failureCount < MAX_RETRIES && isApiError(error) && error.retryable;
}

/** Exponential backoff with jitter; a server's Retry-After wins when it is longer. */
export function retryDelay(failureCount: number, error: unknown, random: () => number = Math.random): number {
  const exponential = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** Math.max(0, failureCount - 1));
  const jittered = exponential / 2 + (random() * exponential) / 2;
  const retryAfterMs = isApiError(error) && error.retryAfterSeconds !== null ? error.retryAfterSeconds * 1000 : 0;
  return Math.min(MAX_DELAY_MS, Math.max(jittered, retryAfterMs));
}

export function createQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      queries: {
        retry: shouldRetry,
        retryDelay,
        staleTime: 10_000,
        refetchOnWindowFocus: true,
      },
      // Writes are not repeated automatically: a toggle or create sent twice is not harmless.
      mutations: { retry: false },
    },
  });
}

export const taskKeys = {
  all: ["tasks"] as const,
  forUser: (userId: string) => ["tasks", userId] as const,
  list: (userId: string, filter: TaskFilter) => ["tasks", userId, "list", filter] as const,
};

export type TaskFilter = "all" | "active" | "completed";

export const TASK_FILTERS: readonly TaskFilter[] = ["all", "active", "completed"];

export function parseFilter(value: string | string[] | null | undefined): TaskFilter {
  const raw = Array.isArray(value) ? value[0] : value;
  return TASK_FILTERS.find((filter) => filter === raw) ?? "all";
}

/** The list endpoint's `completed` parameter for a filter. */
export function completedParam(filter: TaskFilter): boolean | undefined {
  if (filter === "all") return undefined;
  return filter === "completed";
}
