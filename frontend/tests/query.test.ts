import { MutationObserver } from "@tanstack/react-query";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import { ApiError } from "@/lib/api/errors";
import { createQueryClient, MAX_RETRIES, retryDelay, shouldRetry } from "@/lib/api/query";
import { tasksApi } from "@/lib/api/tasks";

import { jsonResponse, makeClient } from "./helpers";

const PAGE = { items: [], total: 0, limit: 50, offset: 0 };

function apiError(kind: ApiError["kind"], method = "GET", retryAfterSeconds: number | null = null) {
  return new ApiError({ kind, method, message: kind, retryAfterSeconds });
}

describe("retry policy", () => {
  it("retries transient failures of GET a bounded number of times", () => {
    expect(shouldRetry(0, apiError("network"))).toBe(true);
    expect(shouldRetry(0, apiError("server"))).toBe(true);
    expect(shouldRetry(0, apiError("rate_limited"))).toBe(true);
    expect(shouldRetry(MAX_RETRIES, apiError("network"))).toBe(false);
  });

  it("never retries client errors or non-idempotent writes", () => {
    for (const kind of ["unauthorized", "forbidden", "not_found", "validation"] as const) {
      expect(shouldRetry(0, apiError(kind))).toBe(false);
    }
    expect(shouldRetry(0, apiError("network", "POST"))).toBe(false);
    expect(shouldRetry(0, apiError("server", "PATCH"))).toBe(false);
    expect(shouldRetry(0, new Error("boom"))).toBe(false);
  });

  it("backs off exponentially and honours Retry-After", () => {
    const mid = () => 0.5;
    const delays = [1, 2, 3, 4].map((attempt) => retryDelay(attempt, apiError("network"), mid));
    expect(delays).toEqual([375, 750, 1500, 3000]);
    expect(retryDelay(1, apiError("rate_limited", "GET", 5), mid)).toBe(5000);
    expect(retryDelay(20, apiError("network"), () => 1)).toBe(8000);
  });
});

describe("TanStack Query with the API client", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("a GET that fails with network errors is retried with backoff until it succeeds", async () => {
    const h = makeClient((_url, _init, call) =>
      call <= 2 ? Promise.reject(new TypeError("fetch failed")) : jsonResponse(200, PAGE),
    );
    const api = tasksApi(h.client);
    const queryClient = createQueryClient();

    const result = queryClient.fetchQuery({
      queryKey: ["tasks", "user-1"],
      queryFn: ({ signal }) => api.list("user-1", {}, signal),
      retry: shouldRetry,
    });
    await vi.advanceTimersByTimeAsync(0);
    expect(h.fetchMock).toHaveBeenCalledTimes(1);
    // First backoff is at most 500 ms, second at most 1000 ms; nothing happens before.
    await vi.advanceTimersByTimeAsync(200);
    expect(h.fetchMock).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(2_000);
    await expect(result).resolves.toEqual(PAGE);
    expect(h.fetchMock).toHaveBeenCalledTimes(3);
    queryClient.clear();
  });

  it("a GET that keeps failing gives up after the retry budget", async () => {
    const h = makeClient(() => jsonResponse(503, { error: { code: "service_unavailable", message: "down" } }));
    const api = tasksApi(h.client);
    const queryClient = createQueryClient();

    const result = queryClient
      .fetchQuery({ queryKey: ["tasks"], queryFn: ({ signal }) => api.list("user-1", {}, signal), retry: shouldRetry })
      .catch((error: unknown) => error);
    await vi.advanceTimersByTimeAsync(60_000);
    const error = await result;
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).kind).toBe("server");
    expect(h.fetchMock).toHaveBeenCalledTimes(1 + MAX_RETRIES);
    queryClient.clear();
  });

  it("writes (POST) are not retried on network errors", async () => {
    const h = makeClient(() => Promise.reject(new TypeError("fetch failed")));
    const api = tasksApi(h.client);
    const queryClient = createQueryClient();
    const observer = new MutationObserver(queryClient, {
      mutationFn: (title: string) => api.create("user-1", { title }),
    });

    const outcome = observer.mutate("Buy milk").catch((error: unknown) => error);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(await outcome).toMatchObject({ kind: "network" });
    expect(h.fetchMock).toHaveBeenCalledTimes(1);
    queryClient.clear();
  });

  it("cancelling the query aborts the request through its AbortSignal", async () => {
    let signal: AbortSignal | null | undefined;
    const h = makeClient(
      (_url, init) =>
        new Promise<Response>((_resolve, reject) => {
          signal = init.signal;
          init.signal?.addEventListener("abort", () => reject(init.signal!.reason));
        }),
    );
    const api = tasksApi(h.client);
    const queryClient = createQueryClient();

    const result = queryClient
      .fetchQuery({ queryKey: ["tasks", "user-1"], queryFn: ({ signal: s }) => api.list("user-1", {}, s) })
      .catch((error: unknown) => error);
    await vi.advanceTimersByTimeAsync(0);
    expect(h.fetchMock).toHaveBeenCalledTimes(1);
    expect(signal?.aborted).toBe(false);
    await queryClient.cancelQueries({ queryKey: ["tasks", "user-1"] });

    expect(signal?.aborted).toBe(true);
    await vi.advanceTimersByTimeAsync(60_000);
    await result;
    expect(h.fetchMock).toHaveBeenCalledTimes(1);
    queryClient.clear();
  });
});
