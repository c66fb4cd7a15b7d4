import path from "node:path";

import { afterEach, describe, expect, it } from "vitest";

import { parseDatabaseUrl } from "@/lib/auth-db";
import { buildCsp } from "@/lib/csp";
import { publicConfig } from "@/lib/env";

describe("parseDatabaseUrl", () => {
  it("recognises PostgreSQL URLs, including the backend's driver-suffixed form", () => {
    expect(parseDatabaseUrl("postgres://u:p@db:5432/app")).toEqual({
      kind: "postgres",
      connectionString: "postgresql://u:p@db:5432/app",
    });
    expect(parseDatabaseUrl("postgresql+psycopg://u:p@127.0.0.1:5432/app")).toEqual({
      kind: "postgres",
      connectionString: "postgresql://u:p@127.0.0.1:5432/app",
    });
  });

  it("treats anything else as a SQLite file, ./auth.db by default", () => {
    const cwd = "/srv/app";
    expect(parseDatabaseUrl(undefined, cwd)).toEqual({ kind: "sqlite", filename: path.resolve(cwd, "auth.db") });
    expect(parseDatabaseUrl("data/auth.db", cwd)).toEqual({ kind: "sqlite", filename: "/srv/app/data/auth.db" });
    expect(parseDatabaseUrl("file:./x.db", cwd)).toEqual({ kind: "sqlite", filename: "/srv/app/x.db" });
    expect(parseDatabaseUrl("file:///var/lib/auth.db", cwd)).toEqual({ kind: "sqlite", filename: "/var/lib/auth.db" });
    expect(parseDatabaseUrl("sqlite:///./y.db", cwd)).toEqual({ kind: "sqlite", filename: "/srv/app/y.db" });
    expect(parseDatabaseUrl("sqlite:////tmp/z.db", cwd)).toEqual({ kind: "sqlite", filename: "/tmp/z.db" });
  });

  it("refuses in-memory SQLite", () => {
    expect(() => parseDatabaseUrl(":memory:")).toThrow(/in-memory/);
  });
});

describe("buildCsp", () => {
  const directives = (csp: string) =>
    Object.fromEntries(csp.split("; ").map((d) => [d.split(" ")[0], d.split(" ").slice(1)]));

  it("allows scripts only with the nonce and fetches only to self and the API", () => {
    const csp = directives(buildCsp({ nonce: "abc", connectOrigins: ["http://localhost:8000"], development: false }));
    expect(csp["script-src"]).toEqual(["'self'", "'nonce-abc'", "'strict-dynamic'"]);
    expect(csp["connect-src"]).toEqual(["'self'", "http://localhost:8000"]);
    expect(csp["frame-ancestors"]).toEqual(["'none'"]);
    expect(csp["object-src"]).toEqual(["'none'"]);
  });

  it("adds eval and websockets only in development", () => {
    const csp = directives(buildCsp({ nonce: "n", connectOrigins: [], development: true }));
    expect(csp["script-src"]).toContain("'unsafe-eval'");
    expect(csp["connect-src"]).toContain("ws:");
  });
});

describe("publicConfig", () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });

  it("reads the API and auth URLs at call time, not at build time", () => {
    process.env.NEXT_PUBLIC_API_URL = "http://api.example:8001/";
    process.env.BETTER_AUTH_URL = "http://app.example:3001";
    delete process.env.NEXT_PUBLIC_BETTER_AUTH_URL;
    expect(publicConfig("http://ignored:1")).toEqual({
      apiUrl: "http://api.example:8001",
      authUrl: "http://app.example:3001",
      tokenBinding: true,
    });
    process.env.NEXT_PUBLIC_API_URL = "http://api.example:9009";
    expect(publicConfig("http://ignored:1").apiUrl).toBe("http://api.example:9009");
  });

  it("keeps a full NEXT_PUBLIC_BETTER_AUTH_URL and falls back to the request origin", () => {
    process.env.NEXT_PUBLIC_BETTER_AUTH_URL = "http://localhost:4000/api/auth/";
    expect(publicConfig("http://x:1").authUrl).toBe("http://localhost:4000/api/auth");
    delete process.env.NEXT_PUBLIC_BETTER_AUTH_URL;
    delete process.env.BETTER_AUTH_URL;
    delete process.env.NEXT_PUBLIC_API_URL;
    expect(publicConfig("http://127.0.0.1:3000")).toEqual({
      apiUrl: "http://localhost:8000",
      authUrl: "http://127.0.0.1:3000",
      tokenBinding: true,
    });
  });

  it("turns token binding off only for DPOP_MODE=off", () => {
    for (const [mode, binding] of [
      ["off", false],
      ["OFF", false],
      ["optional", true],
      ["required", true],
    ] as const) {
      process.env.DPOP_MODE = mode;
      expect(publicConfig("http://x:1").tokenBinding).toBe(binding);
    }
  });
});
