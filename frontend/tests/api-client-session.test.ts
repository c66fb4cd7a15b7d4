import { describe, expect, it, vi } from "vitest";

import { ApiClient } from "@/lib/api/client";
import { TokenManager } from "@/lib/api/token";
import { createSessionExpiredHandler } from "@/lib/session-expiry";

import { errorBody, flushPromises, jsonResponse, tokenSource } from "./helpers";

describe("401 end to end through the client", () => {
  it("renews once, retries once, then signs out and redirects to /login?next=... once for all callers", async () => {
    const fetchToken = vi.fn(tokenSource());
    const tokens = new TokenManager(fetchToken);
    const navigate = vi.fn<(url: string) => void>();
    const signOut = vi.fn(async () => ({}));
    const onUnauthorized = createSessionExpiredHandler({
      signOut,
      forget: () => tokens.clear(),
      notify: () => undefined,
      navigate,
      currentPath: () => "/tasks?filter=completed",
    });
    const fetchMock = vi.fn<typeof fetch>(async () => jsonResponse(401, errorBody("invalid_token", "expired")));
    const client = new ApiClient({ baseUrl: "http://api.test", tokens, onUnauthorized, fetch: fetchMock });

    const results = await Promise.allSettled([client.get("/api/u/tasks"), client.get("/api/u/tasks?x=1")]);
    await flushPromises();

    expect(results.every((r) => r.status === "rejected")).toBe(true);
    expect(signOut).toHaveBeenCalledTimes(1);
    expect(navigate).toHaveBeenCalledTimes(1);
    expect(navigate).toHaveBeenCalledWith("/login?next=%2Ftasks%3Ffilter%3Dcompleted&reason=expired");
    // Two requests, each sent twice; the first token and its renewal are shared by both.
    expect(fetchMock).toHaveBeenCalledTimes(4);
    expect(fetchToken).toHaveBeenCalledTimes(2);
  });
});

describe("503 while the token's signing key is not known yet (a key rotation)", () => {
  it("is a temporary server error: no renewal, no sign-out, Retry-After kept for the retry", async () => {
    const fetchToken = vi.fn(tokenSource());
    const tokens = new TokenManager(fetchToken);
    const signOut = vi.fn(async () => ({}));
    const navigate = vi.fn<(url: string) => void>();
    const onUnauthorized = createSessionExpiredHandler({
      signOut,
      forget: () => tokens.clear(),
      notify: () => undefined,
      navigate,
      currentPath: () => "/tasks",
    });
    const unavailable = () =>
      jsonResponse(503, errorBody("jwks_unavailable", "retry later"), { "Retry-After": "7" });
    const fetchMock = vi
      .fn<typeof fetch>()
      .mockImplementationOnce(async () => unavailable())
      .mockImplementationOnce(async () => unavailable())
      .mockImplementation(async () => jsonResponse(200, { items: [] }));
    const client = new ApiClient({ baseUrl: "http://api.test", tokens, onUnauthorized, fetch: fetchMock });

    const failures = await Promise.allSettled([client.get("/api/u/tasks"), client.post("/api/u/tasks", { title: "t" })]);
    await flushPromises();
    for (const failure of failures) {
      expect(failure.status).toBe("rejected");
      const error = (failure as PromiseRejectedResult).reason as { kind: string; status: number; retryAfterSeconds: number };
      expect([error.kind, error.status, error.retryAfterSeconds]).toEqual(["server", 503, 7]);
    }
    expect(signOut).not.toHaveBeenCalled();
    expect(navigate).not.toHaveBeenCalled();
    // One token for both requests, kept: the same token works once the key is fetched.
    expect(fetchToken).toHaveBeenCalledTimes(1);
    await expect(client.get("/api/u/tasks")).resolves.toEqual({ items: [] });
    expect(fetchToken).toHaveBeenCalledTimes(1);
    const sent = fetchMock.mock.calls.map(([, init]) => (init?.headers as Record<string, string>).Authorization);
    expect(new Set(sent).size).toBe(1);
  });
});
