import { describe, expect, it, vi } from "vitest";

import { createSessionExpiredHandler } from "@/lib/session-expiry";

import { flushPromises } from "./helpers";

function deps(signOut: () => Promise<unknown>) {
  return {
    signOut: vi.fn(signOut),
    forget: vi.fn(),
    notify: vi.fn(),
    navigate: vi.fn<(url: string) => void>(),
    currentPath: () => "/tasks?filter=active",
  };
}

describe("session expiry", () => {
  it("signs out locally, then redirects to /login with next, once", async () => {
    const d = deps(async () => ({}));
    const handle = createSessionExpiredHandler(d);
    handle();
    handle();
    handle();
    await flushPromises();

    expect(d.forget).toHaveBeenCalledTimes(1);
    expect(d.signOut).toHaveBeenCalledTimes(1);
    expect(d.notify).toHaveBeenCalledTimes(1);
    expect(d.navigate).toHaveBeenCalledTimes(1);
    expect(d.navigate).toHaveBeenCalledWith("/login?next=%2Ftasks%3Ffilter%3Dactive&reason=expired");
  });

  it("still redirects when the sign-out request fails", async () => {
    const d = deps(async () => {
      throw new TypeError("fetch failed");
    });
    createSessionExpiredHandler(d)();
    await flushPromises();
    expect(d.navigate).toHaveBeenCalledTimes(1);
  });

  it("waits for the sign-out before leaving the page", async () => {
    let finish!: () => void;
    const d = deps(() => new Promise<void>((resolve) => (finish = resolve)));
    createSessionExpiredHandler(d)();
    await flushPromises();
    expect(d.navigate).not.toHaveBeenCalled();
    finish();
    await flushPromises();
    expect(d.navigate).toHaveBeenCalledTimes(1);
  });
});
