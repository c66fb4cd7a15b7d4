import { decodeJwt } from "jose";
import { describe, expect, it, vi } from "vitest";

import { TokenManager } from "@/lib/api/token";

import { fakeJwt, flushPromises } from "./helpers";

function clock(startMs = 1_700_000_000_000) {
  let now = startMs;
  return {
    now: () => now,
    seconds: () => Math.floor(now / 1000),
    advance: (ms: number) => {
      now += ms;
    },
  };
}

function issuer(time: ReturnType<typeof clock>, lifetimeSeconds = 900) {
  let n = 0;
  return vi.fn(async () => {
    n += 1;
    const iat = time.seconds();
    return fakeJwt({ iat, exp: iat + lifetimeSeconds, n });
  });
}

describe("TokenManager", () => {
  it("reuses the cached token while it is fresh", async () => {
    const time = clock();
    const fetchToken = issuer(time);
    const tokens = new TokenManager(fetchToken, { now: time.now });

    const first = await tokens.get();
    time.advance(60_000);
    const second = await tokens.get();
    time.advance(600_000);
    const third = await tokens.get();

    expect(fetchToken).toHaveBeenCalledTimes(1);
    expect(second).toBe(first);
    expect(third).toBe(first);
  });

  it("renews shortly before exp, not after", async () => {
    const time = clock();
    const fetchToken = issuer(time);
    const tokens = new TokenManager(fetchToken, { now: time.now, maxRefreshMarginMs: 30_000 });

    const first = await tokens.get();
    time.advance((900 - 31) * 1000);
    expect(await tokens.get()).toBe(first);
    expect(fetchToken).toHaveBeenCalledTimes(1);

    time.advance(2_000); // now 29 s before exp: inside the 30 s margin
    const renewed = await tokens.get();
    expect(fetchToken).toHaveBeenCalledTimes(2);
    expect(renewed).not.toBe(first);
    expect(decodeJwt(renewed!).n).toBe(2);
  });

  it("scales the renewal margin down for short-lived tokens", async () => {
    const time = clock();
    const fetchToken = issuer(time, 20);
    const tokens = new TokenManager(fetchToken, { now: time.now });

    await tokens.get();
    time.advance(14_000); // margin is 25% of 20 s = 5 s
    await tokens.get();
    expect(fetchToken).toHaveBeenCalledTimes(1);
    time.advance(2_000);
    await tokens.get();
    expect(fetchToken).toHaveBeenCalledTimes(2);
  });

  it("measures lifetime from iat, so a skewed local clock does not force renewals", async () => {
    const time = clock();
    // The token was issued by a server whose clock is an hour behind ours.
    const fetchToken = vi.fn(async () => {
      const iat = time.seconds() - 3600;
      return fakeJwt({ iat, exp: iat + 900 });
    });
    const tokens = new TokenManager(fetchToken, { now: time.now });

    await tokens.get();
    time.advance(300_000);
    await tokens.get();
    expect(fetchToken).toHaveBeenCalledTimes(1);
  });

  it("shares one in-flight fetch among 20 concurrent callers", async () => {
    const time = clock();
    let release!: (token: string) => void;
    const fetchToken = vi.fn(
      () =>
        new Promise<string>((resolve) => {
          release = resolve;
        }),
    );
    const tokens = new TokenManager(fetchToken, { now: time.now });

    const pending = Array.from({ length: 20 }, () => tokens.get());
    await flushPromises();
    const token = fakeJwt({ iat: time.seconds(), exp: time.seconds() + 900 });
    release(token);
    const results = await Promise.all(pending);

    expect(fetchToken).toHaveBeenCalledTimes(1);
    expect(new Set(results)).toEqual(new Set([token]));
  });

  it("does not cache a token without exp", async () => {
    const fetchToken = vi.fn(async () => fakeJwt({}));
    const tokens = new TokenManager(fetchToken);
    await tokens.get();
    await tokens.get();
    expect(fetchToken).toHaveBeenCalledTimes(2);
  });

  it("returns null without a session and caches nothing", async () => {
    const fetchToken = vi.fn(async () => null);
    const tokens = new TokenManager(fetchToken);
    expect(await tokens.get()).toBeNull();
    expect(await tokens.get()).toBeNull();
    expect(fetchToken).toHaveBeenCalledTimes(2);
  });

  it("invalidate drops only the token that was refused", async () => {
    const time = clock();
    const fetchToken = issuer(time);
    const tokens = new TokenManager(fetchToken, { now: time.now });
    const first = await tokens.get();

    tokens.invalidate("some-other-token");
    expect(await tokens.get()).toBe(first);
    tokens.invalidate(first!);
    expect(await tokens.get()).not.toBe(first);
    expect(fetchToken).toHaveBeenCalledTimes(2);
  });

  it("a fetch that started before clear() does not refill the cache", async () => {
    const time = clock();
    let release!: (token: string) => void;
    const fetchToken = vi
      .fn<() => Promise<string>>()
      .mockImplementationOnce(() => new Promise((resolve) => (release = resolve)))
      .mockImplementation(async () => fakeJwt({ iat: time.seconds(), exp: time.seconds() + 900, n: 2 }));
    const tokens = new TokenManager(fetchToken, { now: time.now });

    const stale = tokens.get();
    tokens.clear();
    release(fakeJwt({ iat: time.seconds(), exp: time.seconds() + 900, n: 1 }));
    await stale;

    const fresh = await tokens.get();
    expect(decodeJwt(fresh!).n).toBe(2);
  });

  it("an aborted caller stops waiting without cancelling the shared fetch", async () => {
    const time = clock();
    let release!: (token: string) => void;
    const fetchToken = vi.fn(() => new Promise<string>((resolve) => (release = resolve)));
    const tokens = new TokenManager(fetchToken, { now: time.now });

    const controller = new AbortController();
    const aborted = tokens.get(controller.signal);
    const other = tokens.get();
    controller.abort();
    await expect(aborted).rejects.toMatchObject({ name: "AbortError" });

    const token = fakeJwt({ iat: time.seconds(), exp: time.seconds() + 900 });
    release(token);
    expect(await other).toBe(token);
    expect(fetchToken).toHaveBeenCalledTimes(1);
  });
});
