import { calculateThumbprint } from "dpop";
import { base64url, calculateJwkThumbprint, decodeJwt, decodeProtectedHeader, EmbeddedJWK, jwtVerify } from "jose";
import { describe, expect, it, vi } from "vitest";

import { ApiClient } from "@/lib/api/client";
import { TokenManager } from "@/lib/api/token";
import { DpopKeyStore } from "@/lib/dpop/keys";
import { DpopProofs, htuOf } from "@/lib/dpop/proofs";

import { jsonResponse, tokenSource } from "./helpers";

function headersOf(init: RequestInit | undefined): Record<string, string> {
  return (init?.headers ?? {}) as Record<string, string>;
}

async function ath(token: string): Promise<string> {
  return base64url.encode(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(token))));
}

function boundClient(respond: (call: number) => Response, signer?: DpopProofs) {
  const proofs = signer ?? new DpopProofs(new DpopKeyStore(null));
  let calls = 0;
  const fetchMock = vi.fn<typeof fetch>(async () => respond(++calls));
  const fetchToken = vi.fn(tokenSource());
  const tokens = new TokenManager(fetchToken);
  const onUnauthorized = vi.fn();
  const client = new ApiClient({
    baseUrl: "http://api.test",
    tokens,
    onUnauthorized,
    fetch: fetchMock,
    proof: proofs,
  });
  return { client, tokens, fetchMock, fetchToken, onUnauthorized, proofs };
}

describe("htuOf", () => {
  it("drops query and fragment", () => {
    expect(htuOf("http://api.test:8000/api/u/tasks?limit=5#x")).toBe("http://api.test:8000/api/u/tasks");
  });
});

describe("ApiClient with DPoP", () => {
  it("sends the token under the DPoP scheme with a proof of this very request", async () => {
    const h = boundClient(() => jsonResponse(200, { items: [] }));
    await h.client.get("/api/user-1/tasks", { query: { completed: true } });

    const [url, init] = h.fetchMock.mock.calls[0]!;
    expect(String(url)).toBe("http://api.test/api/user-1/tasks?completed=true");
    const headers = headersOf(init);
    const token = await h.tokens.get();
    expect(headers.Authorization).toBe(`DPoP ${token}`);
    const { payload, protectedHeader } = await jwtVerify(headers.DPoP!, EmbeddedJWK, { typ: "dpop+jwt" });
    expect(protectedHeader.alg).toBe("ES256");
    expect(payload.htm).toBe("GET");
    expect(payload.htu).toBe("http://api.test/api/user-1/tasks");
    expect(payload.ath).toBe(await ath(token!));
    expect(typeof payload.jti).toBe("string");
    expect(Math.abs((payload.iat as number) - Date.now() / 1000)).toBeLessThan(5);
  });

  it("gives parallel requests their own proofs, all by the same key", async () => {
    const h = boundClient(() => jsonResponse(200, {}));
    await Promise.all(Array.from({ length: 8 }, (_, n) => h.client.patch(`/api/user-1/tasks/${n}`, { title: "x" })));
    const proofs = h.fetchMock.mock.calls.map(([, init]) => headersOf(init).DPoP!);
    expect(new Set(proofs.map((p) => decodeJwt(p).jti)).size).toBe(8);
    const keys = new Set(proofs.map((p) => JSON.stringify(decodeProtectedHeader(p).jwk)));
    expect(keys.size).toBe(1);
    expect(h.fetchToken).toHaveBeenCalledTimes(1);
    expect(proofs.every((p) => decodeJwt(p).htm === "PATCH")).toBe(true);
  });

  it("retries a 401 with the renewed token and a new proof for it", async () => {
    const h = boundClient((call) => (call === 1 ? jsonResponse(401, {}) : jsonResponse(200, {})));
    await h.client.delete("/api/user-1/tasks/1");
    const [first, second] = h.fetchMock.mock.calls.map(([, init]) => headersOf(init));
    expect(first!.Authorization).not.toBe(second!.Authorization);
    const renewed = second!.Authorization!.replace(/^DPoP /, "");
    expect(decodeJwt(second!.DPoP!).ath).toBe(await ath(renewed));
    expect(decodeJwt(first!.DPoP!).jti).not.toBe(decodeJwt(second!.DPoP!).jti);
    expect(h.onUnauthorized).not.toHaveBeenCalled();
  });

  it("sends nothing when the request is cancelled while its proof is made", async () => {
    const controller = new AbortController();
    const slow = new DpopProofs(new DpopKeyStore(null));
    const signed = slow.proof.bind(slow);
    vi.spyOn(slow, "proof").mockImplementation(async (...args) => {
      controller.abort();
      return signed(...args);
    });
    const h = boundClient(() => jsonResponse(200, {}), slow);
    await expect(h.client.get("/api/user-1/tasks", { signal: controller.signal })).rejects.toMatchObject({
      name: "AbortError",
    });
    expect(h.fetchMock).not.toHaveBeenCalled();
  });

  it("a key that cannot be made is a network-kind failure, and nothing is sent", async () => {
    const failing = new DpopKeyStore(null, () => Promise.reject(new Error("no WebCrypto")));
    const h = boundClient(() => jsonResponse(200, {}), new DpopProofs(failing));
    await expect(h.client.get("/api/user-1/tasks")).rejects.toMatchObject({ kind: "network" });
    expect(h.fetchMock).not.toHaveBeenCalled();
  });

  it("a use_dpop_nonce challenge is answered once with the server's nonce", async () => {
    const challenge = (nonce: string) =>
      jsonResponse(401, {}, { "WWW-Authenticate": 'DPoP error="use_dpop_nonce"', "DPoP-Nonce": nonce });
    const h = boundClient((call) => (call === 1 ? challenge("n-1") : jsonResponse(200, {})));
    await h.client.get("/api/user-1/tasks");
    await h.client.get("/api/user-1/tasks");
    const proofs = h.fetchMock.mock.calls.map(([, init]) => decodeJwt(headersOf(init).DPoP!));
    expect(proofs.map((p) => p.nonce)).toEqual([undefined, "n-1", "n-1"]);
    expect(h.fetchToken).toHaveBeenCalledTimes(1); // not a token problem: no renewal
    expect(h.onUnauthorized).not.toHaveBeenCalled();
  });

  it("the same nonce refused again is a plain 401 (renew once, then session end)", async () => {
    const h = boundClient(() =>
      jsonResponse(401, {}, { "WWW-Authenticate": 'DPoP error="use_dpop_nonce"', "DPoP-Nonce": "stuck" }),
    );
    await expect(h.client.get("/api/user-1/tasks")).rejects.toMatchObject({ kind: "unauthorized" });
    expect(h.fetchMock).toHaveBeenCalledTimes(3);
    expect(h.onUnauthorized).toHaveBeenCalledTimes(1);
  });

  it("the proof's key is the one the store keeps", async () => {
    const keys = new DpopKeyStore(null);
    const h = boundClient(() => jsonResponse(200, {}), new DpopProofs(keys));
    await h.client.get("/api/user-1/tasks");
    const jwk = decodeProtectedHeader(headersOf(h.fetchMock.mock.calls[0]![1]).DPoP!).jwk;
    expect(await calculateJwkThumbprint(jwk!)).toBe(await calculateThumbprint((await keys.get()).publicKey));
  });
});
