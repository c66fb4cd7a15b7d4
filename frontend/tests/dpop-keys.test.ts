import "fake-indexeddb/auto";

import { calculateThumbprint } from "dpop";
import { afterEach, describe, expect, it, vi } from "vitest";

import { DpopKeyStore, indexedDbStorage, type KeyPairStorage } from "@/lib/dpop/keys";

const thumbprintOf = async (store: DpopKeyStore) => calculateThumbprint((await store.get()).publicKey);

function storage(): KeyPairStorage {
  const found = indexedDbStorage();
  if (!found) throw new Error("fake-indexeddb should provide indexedDB");
  return found;
}

describe("DpopKeyStore", () => {
  afterEach(async () => {
    await new DpopKeyStore(storage()).clear();
  });

  it("generates an ES256 key whose private half cannot be exported", async () => {
    const { privateKey, publicKey } = await new DpopKeyStore(storage()).get();
    expect(privateKey.extractable).toBe(false);
    expect(privateKey.algorithm).toMatchObject({ name: "ECDSA", namedCurve: "P-256" });
    await expect(crypto.subtle.exportKey("pkcs8", privateKey)).rejects.toThrow();
    expect(publicKey.extractable).toBe(true);
  });

  it("keeps the same key across page loads (a new store on the same database)", async () => {
    const first = await thumbprintOf(new DpopKeyStore(storage()));
    const afterReload = await thumbprintOf(new DpopKeyStore(storage()));
    expect(afterReload).toBe(first);
  });

  it("sign-out deletes the key: the next one is new, here and after a reload", async () => {
    const store = new DpopKeyStore(storage());
    const before = await thumbprintOf(store);
    const cleared = store.clear();
    const next = await thumbprintOf(store); // asked for before the delete finished
    await cleared;
    expect(next).not.toBe(before);
    expect(await thumbprintOf(new DpopKeyStore(storage()))).toBe(next);
  });

  it("two tabs creating a key at once end up with the same one", async () => {
    const [a, b] = await Promise.all([
      thumbprintOf(new DpopKeyStore(storage())),
      thumbprintOf(new DpopKeyStore(storage())),
    ]);
    expect(a).toBe(b);
  });

  it("shares one key between concurrent callers", async () => {
    const generate = vi.fn(() => crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign", "verify"]));
    const store = new DpopKeyStore(null, generate);
    const keys = await Promise.all(Array.from({ length: 10 }, () => store.get()));
    expect(new Set(keys).size).toBe(1);
    expect(generate).toHaveBeenCalledTimes(1);
  });

  it("without usable storage the key lives in memory", async () => {
    const broken: KeyPairStorage = {
      load: () => Promise.reject(new Error("blocked")),
      saveIfAbsent: () => Promise.reject(new Error("quota")),
      remove: () => Promise.reject(new Error("blocked")),
    };
    const store = new DpopKeyStore(broken);
    const first = await thumbprintOf(store);
    expect(await thumbprintOf(store)).toBe(first);
    await store.clear();
    expect(await thumbprintOf(store)).not.toBe(first);
  });

  it("replaces a stored value that is not a key pair", async () => {
    let stored: unknown = { privateKey: "x", publicKey: "y" };
    const odd: KeyPairStorage = {
      load: async () => stored,
      saveIfAbsent: async (fresh) => (stored ??= fresh),
      remove: async () => {
        stored = undefined;
      },
    };
    const { privateKey } = await new DpopKeyStore(odd).get();
    expect(privateKey).toBeInstanceOf(CryptoKey);
    expect(stored).toMatchObject({ privateKey });
  });
});
