import fs from "node:fs";
import os from "node:os";
import path from "node:path";

import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import { type StoredKey, signingKeyOf } from "@/lib/signing-keys";

const SECRET = "first-secret-0123456789abcdef0123456789";
const OTHER_SECRET = "second-secret-0123456789abcdef012345678";
const saved = { ...process.env };
let dir: string;
let file: string;

/** A fresh copy of the auth modules for the current environment (they cache their state). */
async function authModules() {
  vi.resetModules();
  const auth = await import("@/lib/auth");
  const keys = await import("@/lib/signing-keys");
  return { ...auth, ...keys };
}

async function startWith(secret: string) {
  process.env.BETTER_AUTH_SECRET = secret;
  const modules = await authModules();
  await modules.migrateAuthDatabase();
  return modules;
}

function rows(): { id: string; expiresAt: number | string | null; createdAt: number | string }[] {
  const db = new Database(file);
  try {
    return db.prepare('SELECT id, "expiresAt", "createdAt" FROM jwks').all() as ReturnType<typeof rows>;
  } finally {
    db.close();
  }
}

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "signing-keys-"));
  file = path.join(dir, "auth.db");
  process.env = { ...saved, DATABASE_URL: file, BETTER_AUTH_URL: "http://localhost:3000", JWKS_ROTATION_INTERVAL: "1h" };
});

afterEach(() => {
  process.env = { ...saved };
  fs.rmSync(dir, { recursive: true, force: true });
});

describe("signingKeyOf", () => {
  const now = new Date("2026-01-10T00:00:00Z");
  const key = (id: string, created: string, expires?: string, alg: string | null = "RS256"): StoredKey => ({
    id,
    alg,
    privateKey: "x",
    createdAt: new Date(created),
    expiresAt: expires ? new Date(expires) : null,
  });

  it("is the newest live key of the configured algorithm, as Better Auth picks it", () => {
    const keys = [
      key("old", "2026-01-01", "2026-01-09"),
      key("current", "2026-01-09", "2026-02-08"),
      key("eddsa-newer", "2026-01-09T12:00:00Z", undefined, "EdDSA"),
      key("legacy", "2025-12-01", undefined, null),
    ];
    expect(signingKeyOf(keys, "RS256", now)?.id).toBe("current");
    expect(signingKeyOf([keys[0]!, keys[2]!], "RS256", now)?.id).toBe("eddsa-newer");
    expect(signingKeyOf([keys[0]!], "RS256", now)).toBeUndefined();
  });
});

describe("prepareSigningKeys at start-up", () => {
  it("passes with the secret the key was made with and stops with a clear error after a change", async () => {
    const first = await startWith(SECRET);
    const jwks = await first.getAuth().handler(new Request("http://localhost:3000/api/auth/jwks"));
    expect(jwks.status).toBe(200);
    await expect(first.prepareSigningKeys(first.getAuth(), first.getAuthSettings())).resolves.toBeUndefined();

    const changed = await startWith(OTHER_SECRET);
    const failure = changed.prepareSigningKeys(changed.getAuth(), changed.getAuthSettings());
    await expect(failure).rejects.toBeInstanceOf(changed.AuthConfigError);
    await expect(failure).rejects.toThrow(/BETTER_AUTH_SECRET cannot decrypt the signing key .+ in the jwks table/);

    // Without the check Better Auth fails only when it signs: every token request errs.
    const restored = await startWith(SECRET);
    await expect(restored.prepareSigningKeys(restored.getAuth(), restored.getAuthSettings())).resolves.toBeUndefined();
  });

  it("gives keys made before rotation an expiry, so they rotate too", async () => {
    const modules = await startWith(SECRET);
    await modules.getAuth().handler(new Request("http://localhost:3000/api/auth/jwks"));
    const db = new Database(file);
    db.prepare('UPDATE jwks SET "expiresAt" = NULL').run();
    db.close();

    await modules.prepareSigningKeys(modules.getAuth(), modules.getAuthSettings());
    const [row] = rows();
    expect(row?.expiresAt).not.toBeNull();
    const created = new Date(row!.createdAt).getTime();
    expect(new Date(row!.expiresAt!).getTime() - created).toBe(3_600_000);
  });

  it("has nothing to check before the first key exists", async () => {
    const modules = await startWith(OTHER_SECRET);
    await expect(modules.prepareSigningKeys(modules.getAuth(), modules.getAuthSettings())).resolves.toBeUndefined();
    expect(rows()).toEqual([]);
  });
});

describe("the JWKS response", () => {
  it("tells verifiers how long they may cache it; other responses are left alone", async () => {
    process.env.JWKS_GRACE_PERIOD = "40s";
    const modules = await startWith(SECRET);
    const request = new Request("http://localhost:3000/api/auth/jwks");
    const response = modules.withKeySetCaching(request, await modules.getAuth().handler(request));
    expect(response.headers.get("cache-control")).toBe("public, max-age=10");
    expect(((await response.json()) as { keys: unknown[] }).keys).toHaveLength(1);

    const other = new Request("http://localhost:3000/api/auth/get-session");
    const untouched = new Response("{}", { status: 200, headers: { "Cache-Control": "no-store" } });
    expect(modules.withKeySetCaching(other, untouched).headers.get("cache-control")).toBe("no-store");
  });
});
