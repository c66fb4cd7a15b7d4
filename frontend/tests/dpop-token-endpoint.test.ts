import fs from "node:fs";
import os from "node:os";
import path from "node:path";

import { generateKeyPair, generateProof } from "dpop";
import { calculateJwkThumbprint, createLocalJWKSet, decodeProtectedHeader, exportJWK, jwtVerify } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import type * as AuthModuleType from "@/lib/auth";
import { ProofNonces } from "@/lib/dpop/nonces";
import {
  InvalidProofError,
  ProofReplayCache,
  UseNonceError,
  verifyTokenRequestProof,
} from "@/lib/dpop/verify-proof";

type AuthModule = typeof AuthModuleType;

const ORIGIN = "http://localhost:3999";
const TOKEN_URL = `${ORIGIN}/api/auth/dpop/token`;

const policy = (replay = new ProofReplayCache()) => ({
  method: "POST",
  url: TOKEN_URL,
  maxAgeSeconds: 60,
  leewaySeconds: 10,
  replay,
});

async function handmade(header: Record<string, unknown>, claims: Record<string, unknown>, key: CryptoKey) {
  const enc = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const input = `${enc(header)}.${enc(claims)}`;
  const signature = await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, key, new TextEncoder().encode(input));
  return `${input}.${Buffer.from(signature).toString("base64url")}`;
}

describe("verifyTokenRequestProof", () => {
  it("returns the RFC 7638 thumbprint of the proof's key", async () => {
    const keys = await generateKeyPair("ES256");
    const proof = await generateProof(keys, TOKEN_URL, "POST");
    const jkt = await verifyTokenRequestProof(proof, policy());
    expect(jkt).toBe(await calculateJwkThumbprint(await exportJWK(keys.publicKey)));
  });

  it("refuses a missing, replayed, mismatched or stale proof", async () => {
    const keys = await generateKeyPair("ES256");
    const replay = new ProofReplayCache();
    const once = await generateProof(keys, TOKEN_URL, "POST");
    await verifyTokenRequestProof(once, policy(replay));
    const now = Math.floor(Date.now() / 1000);
    const jwk = await exportJWK(keys.publicKey);
    const bad: Record<string, string | null> = {
      missing: null,
      replayed: once,
      "two proofs": `${once}, ${once}`,
      "wrong method": await generateProof(keys, TOKEN_URL, "GET"),
      "wrong url": await generateProof(keys, `${ORIGIN}/api/auth/token`, "POST"),
      "other origin": await generateProof(keys, "http://evil.test/api/auth/dpop/token", "POST"),
      stale: await handmade(
        { typ: "dpop+jwt", alg: "ES256", jwk },
        { htm: "POST", htu: TOKEN_URL, iat: now - 600, jti: "a" },
        keys.privateKey,
      ),
      future: await handmade(
        { typ: "dpop+jwt", alg: "ES256", jwk },
        { htm: "POST", htu: TOKEN_URL, iat: now + 600, jti: "b" },
        keys.privateKey,
      ),
      "wrong typ": await handmade(
        { typ: "JWT", alg: "ES256", jwk },
        { htm: "POST", htu: TOKEN_URL, iat: now, jti: "c" },
        keys.privateKey,
      ),
      "no jti": await handmade(
        { typ: "dpop+jwt", alg: "ES256", jwk },
        { htm: "POST", htu: TOKEN_URL, iat: now },
        keys.privateKey,
      ),
    };
    for (const [name, proof] of Object.entries(bad)) {
      await expect(verifyTokenRequestProof(proof, policy(replay)), name).rejects.toBeInstanceOf(InvalidProofError);
    }
  });

  it("refuses a private key in the header", async () => {
    const keys = await generateKeyPair("ES256", { extractable: true });
    const privateJwk = await exportJWK(keys.privateKey);
    const proof = await handmade(
      { typ: "dpop+jwt", alg: "ES256", jwk: privateJwk },
      { htm: "POST", htu: TOKEN_URL, iat: Math.floor(Date.now() / 1000), jti: "d" },
      keys.privateKey,
    );
    await expect(verifyTokenRequestProof(proof, policy())).rejects.toBeInstanceOf(InvalidProofError);
  });

  it("with server nonces: asks for one, then accepts a proof from a skewed clock", async () => {
    const keys = await generateKeyPair("ES256");
    const nonces = new ProofNonces("secret");
    const withNonces = { ...policy(), nonces };
    await expect(verifyTokenRequestProof(await generateProof(keys, TOKEN_URL, "POST"), withNonces)).rejects.toBeInstanceOf(
      UseNonceError,
    );
    const jwk = await exportJWK(keys.publicKey);
    const ahead = Math.floor(Date.now() / 1000) + 1200;
    const skewed = await handmade(
      { typ: "dpop+jwt", alg: "ES256", jwk },
      { htm: "POST", htu: TOKEN_URL, iat: ahead, jti: "skewed", nonce: nonces.issue() },
      keys.privateKey,
    );
    expect(await verifyTokenRequestProof(skewed, withNonces)).toBe(await calculateJwkThumbprint(jwk));
    await expect(verifyTokenRequestProof(skewed, withNonces)).rejects.toBeInstanceOf(InvalidProofError);
  });

  it("nonces expire and cannot be forged", () => {
    let now = 1_000_000_000_000;
    const nonces = new ProofNonces("secret", 300, () => now);
    const nonce = nonces.issue();
    expect(nonces.issuedAt(nonce)).toBe(1_000_000_000);
    expect(new ProofNonces("other", 300, () => now).issuedAt(nonce)).toBeNull();
    expect(nonces.issuedAt("x".repeat(32))).toBeNull();
    now += 301_000;
    expect(nonces.issuedAt(nonce)).toBeNull();
  });

  it("keeps the replay cache bounded", () => {
    const cache = new ProofReplayCache(3);
    for (const jti of ["a", "b", "c", "d"]) expect(cache.use(jti, 2000, 1000)).toBe(true);
    expect(cache.use("d", 2000, 1000)).toBe(false);
    expect(cache.use("a", 3000, 2500)).toBe(true); // expired entries are purged first
  });
});

describe("POST /api/auth/dpop/token", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dpop-auth-"));
  const saved = { ...process.env };
  let cookie = "";
  let userId = "";
  let auth: AuthModule;

  const call = (pathname: string, init: RequestInit = {}) =>
    auth.getAuth().handler(new Request(`${ORIGIN}/api/auth${pathname}`, init));

  beforeAll(async () => {
    Object.assign(process.env, {
      BETTER_AUTH_URL: ORIGIN,
      BETTER_AUTH_SECRET: "test-secret-0123456789abcdef0123456789",
      DATABASE_URL: path.join(dir, "auth.db"),
      AUTH_RATE_LIMIT: "off",
    });
    auth = await import("@/lib/auth");
    await auth.migrateAuthDatabase();
    const signedUp = await call("/sign-up/email", {
      method: "POST",
      headers: { "Content-Type": "application/json", Origin: ORIGIN },
      body: JSON.stringify({ email: "dpop@example.test", password: "correct horse 1", name: "D" }),
    });
    expect(signedUp.status).toBe(200);
    userId = ((await signedUp.json()) as { user: { id: string } }).user.id;
    cookie = signedUp.headers.getSetCookie().map((c) => c.split(";")[0]).join("; ");
  });

  afterAll(() => {
    process.env = saved;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const request = async (proof: string | null, withCookie = true) =>
    call("/dpop/token", {
      method: "POST",
      headers: {
        Origin: ORIGIN,
        "Content-Type": "application/json",
        ...(withCookie ? { Cookie: cookie } : {}),
        ...(proof ? { DPoP: proof } : {}),
      },
      body: "{}",
    });

  it("issues a token bound to the proof's key, signed like the plain one", async () => {
    const keys = await generateKeyPair("ES256");
    const response = await request(await generateProof(keys, TOKEN_URL, "POST"));
    expect(response.status).toBe(200);
    expect(response.headers.get("cache-control")).toContain("no-store");
    const { token, token_type } = (await response.json()) as { token: string; token_type: string };
    expect(token_type).toBe("DPoP");

    const jwks = (await (await call("/jwks")).json()) as { keys: [] };
    const { payload, protectedHeader } = await jwtVerify(token, createLocalJWKSet(jwks), {
      issuer: ORIGIN,
      audience: ORIGIN,
      algorithms: ["RS256"],
    });
    expect(payload.sub).toBe(userId);
    expect(payload.cnf).toEqual({ jkt: await calculateJwkThumbprint(await exportJWK(keys.publicKey)) });
    expect(Object.keys(payload).sort()).toEqual(["aud", "cnf", "exp", "iat", "iss", "sub"]);
    expect(payload.exp! - payload.iat!).toBe(15 * 60);

    const plain = (await (await call("/token", { headers: { Cookie: cookie } })).json()) as { token: string };
    expect(decodeProtectedHeader(plain.token).kid).toBe(protectedHeader.kid);
  });

  it("needs a session, then a valid proof", async () => {
    const keys = await generateKeyPair("ES256");
    expect((await request(await generateProof(keys, TOKEN_URL, "POST"), false)).status).toBe(401);
    const missing = await request(null);
    expect(missing.status).toBe(400);
    expect(await missing.json()).toMatchObject({ code: "INVALID_DPOP_PROOF" });
    const proof = await generateProof(keys, TOKEN_URL, "POST");
    expect((await request(proof)).status).toBe(200);
    expect((await request(proof)).status).toBe(400);
  });
});
