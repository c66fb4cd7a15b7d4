import { describe, expect, it } from "vitest";

import { ApiError } from "@/lib/api/errors";

import { bearerOf, errorBody, flushPromises, jsonResponse, makeClient } from "./helpers";

const TASK = {
  id: "0f5e7d1e-0000-4000-8000-000000000001",
  user_id: "user-1",
  title: "Write tests",
  description: "",
  completed: false,
  created_at: "2026-01-01T00:00:00Z",
  updated_at: "2026-01-01T00:00:00Z",
};

async function failure(promise: Promise<unknown>): Promise<ApiError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ApiError) return error;
    throw error;
  }
  throw new Error("expected the request to fail");
}

describe("ApiClient", () => {
  it("sends the bearer token and returns the JSON body", async () => {
    const h = makeClient(() => jsonResponse(200, TASK));
    const task = await h.client.get(`/api/user-1/tasks/${TASK.id}`);

    expect(task).toEqual(TASK);
    const [url, init] = h.fetchMock.mock.calls[0]!;
    expect(url).toBe(`http://api.test/api/user-1/tasks/${TASK.id}`);
    const token = await h.tokens.get();
    expect(bearerOf(init!)).toBe(`Bearer ${token}`);
    expect(init!.credentials).toBe("omit");
  });

  it("serialises query parameters and JSON bodies; 204 yields undefined", async () => {
    const h = makeClient((_url, init) => (init.method === "DELETE" ? jsonResponse(204) : jsonResponse(201, TASK)));
    await h.client.get("/api/user-1/tasks", { query: { completed: false, limit: 50, offset: undefined } });
    await h.client.post("/api/user-1/tasks", { title: "x" });
    const removed = await h.client.delete("/api/user-1/tasks/1");

    expect(String(h.fetchMock.mock.calls[0]![0])).toBe("http://api.test/api/user-1/tasks?completed=false&limit=50");
    const postInit = h.fetchMock.mock.calls[1]![1]!;
    expect(postInit.body).toBe(JSON.stringify({ title: "x" }));
    expect((postInit.headers as Record<string, string>)["Content-Type"]).toBe("application/json");
    expect(removed).toBeUndefined();
  });

  it("reuses one cached token across sequential calls", async () => {
    const h = makeClient(() => jsonResponse(200, TASK));
    for (let i = 0; i < 5; i += 1) await h.client.get("/api/user-1/tasks");
    expect(h.fetchToken).toHaveBeenCalledTimes(1);
    expect(new Set(h.fetchMock.mock.calls.map(([, init]) => bearerOf(init!))).size).toBe(1);
  });

  it("20 concurrent calls on a cold cache fetch the token once", async () => {
    let release!: (token: string) => void;
    const token = "eyJhbGciOiJSUzI1NiJ9.eyJleHAiOjQxMDI0NDQ4MDAsImlhdCI6MTcwMDAwMDAwMH0.sig";
    const h = makeClient(
      () => jsonResponse(200, { items: [], total: 0, limit: 50, offset: 0 }),
      () => new Promise((resolve) => (release = resolve)),
    );
    const calls = Array.from({ length: 20 }, (_, i) => h.client.get(`/api/user-1/tasks?page=${i}`));
    await flushPromises();
    release(token);
    await Promise.all(calls);

    expect(h.fetchToken).toHaveBeenCalledTimes(1);
    expect(h.fetchMock).toHaveBeenCalledTimes(20);
    for (const [, init] of h.fetchMock.mock.calls) expect(bearerOf(init!)).toBe(`Bearer ${token}`);
  });

  it("on 401 renews the token once and retries once", async () => {
    const h = makeClient((_url, _init, call) =>
      call === 1 ? jsonResponse(401, errorBody("invalid_token", "expired")) : jsonResponse(200, TASK),
    );
    await expect(h.client.get("/api/user-1/tasks/1")).resolves.toEqual(TASK);

    expect(h.fetchToken).toHaveBeenCalledTimes(2);
    expect(h.fetchMock).toHaveBeenCalledTimes(2);
    const [first, second] = h.fetchMock.mock.calls.map(([, init]) => bearerOf(init!));
    expect(second).not.toBe(first);
    expect(h.onUnauthorized).not.toHaveBeenCalled();
  });

  it("a second 401 ends the session: one renewal, one retry, then the redirect handler", async () => {
    const h = makeClient(() => jsonResponse(401, errorBody("invalid_token", "bad signature")));
    const error = await failure(h.client.get("/api/user-1/tasks"));

    expect(error.kind).toBe("unauthorized");
    expect(error.status).toBe(401);
    expect(h.fetchToken).toHaveBeenCalledTimes(2);
    expect(h.fetchMock).toHaveBeenCalledTimes(2);
    expect(h.onUnauthorized).toHaveBeenCalledTimes(1);
  });

  it("without a session it never calls the API and ends the session", async () => {
    const h = makeClient(
      () => jsonResponse(200, TASK),
      async () => null,
    );
    const error = await failure(h.client.get("/api/user-1/tasks"));
    expect(error.kind).toBe("unauthorized");
    expect(h.fetchMock).not.toHaveBeenCalled();
    expect(h.onUnauthorized).toHaveBeenCalledTimes(1);
  });

  it.each([
    [403, "forbidden", "forbidden"],
    [404, "not_found", "not_found"],
    [429, "too_many_requests", "rate_limited"],
    [500, "internal_error", "server"],
    [503, "service_unavailable", "server"],
  ] as const)("maps %i to kind %s", async (status, code, kind) => {
    const h = makeClient(() =>
      jsonResponse(status, errorBody(code, "nope"), { "X-Request-ID": "req-1", "Retry-After": "7" }),
    );
    const error = await failure(h.client.get("/api/user-2/tasks"));
    expect(error).toBeInstanceOf(ApiError);
    expect(error.kind).toBe(kind);
    expect(error.status).toBe(status);
    expect(error.code).toBe(code);
    expect(error.requestId).toBe("req-1");
    expect(error.retryAfterSeconds).toBe(7);
    expect(h.fetchMock).toHaveBeenCalledTimes(1);
    expect(h.onUnauthorized).not.toHaveBeenCalled();
  });

  it("maps 422 to a validation error carrying the backend's field messages", async () => {
    const h = makeClient(() =>
      jsonResponse(422, errorBody("validation_error", "The request is not valid.", { title: "String should have at least 1 character" })),
    );
    const error = await failure(h.client.post("/api/user-1/tasks", { title: "" }));
    expect(error.kind).toBe("validation");
    expect(error.fields).toEqual({ title: "String should have at least 1 character" });
    expect(error.message).toBe("The request is not valid.");
  });

  it("turns a failed fetch into a network error", async () => {
    const h = makeClient(() => Promise.reject(new TypeError("fetch failed")));
    const error = await failure(h.client.get("/api/user-1/tasks"));
    expect(error.kind).toBe("network");
    expect(error.status).toBeNull();
    expect(error.retryable).toBe(true);
  });

  it("only transient failures of idempotent methods are retryable", async () => {
    const network = () => Promise.reject(new TypeError("fetch failed"));
    expect((await failure(makeClient(network).client.post("/x", {}))).retryable).toBe(false);
    expect((await failure(makeClient(network).client.patch("/x", {}))).retryable).toBe(false);
    expect((await failure(makeClient(() => jsonResponse(404)).client.get("/x"))).retryable).toBe(false);
    expect((await failure(makeClient(() => jsonResponse(502)).client.get("/x"))).retryable).toBe(true);
  });

  it("an AbortSignal cancels the request in flight", async () => {
    let seenSignal: AbortSignal | null | undefined;
    const h = makeClient(
      (_url, init) =>
        new Promise<Response>((_resolve, reject) => {
          seenSignal = init.signal;
          init.signal?.addEventListener("abort", () => reject(init.signal!.reason));
        }),
    );
    const controller = new AbortController();
    const request = h.client.get("/api/user-1/tasks", { signal: controller.signal });
    await flushPromises();
    controller.abort();

    await expect(request).rejects.toMatchObject({ name: "AbortError" });
    expect(seenSignal?.aborted).toBe(true);
    expect(h.onUnauthorized).not.toHaveBeenCalled();
  });

  it("an already aborted signal sends nothing", async () => {
    const h = makeClient(() => jsonResponse(200, TASK));
    const controller = new AbortController();
    controller.abort();
    await expect(h.client.get("/api/user-1/tasks", { signal: controller.signal })).rejects.toMatchObject({
      name: "AbortError",
    });
    expect(h.fetchMock).not.toHaveBeenCalled();
  });
});
