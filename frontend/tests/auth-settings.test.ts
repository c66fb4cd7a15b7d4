import { afterEach, describe, expect, it } from "vitest";

import { AuthConfigError, jwksMaxAgeFor, loadAuthSettings } from "@/lib/auth";
import { parseDuration } from "@/lib/duration";

const saved = { ...process.env };

afterEach(() => {
  process.env = { ...saved };
});

function settingsWith(env: Record<string, string | undefined>) {
  process.env = { ...saved, BETTER_AUTH_URL: "http://localhost:3000", ...env };
  for (const [name, value] of Object.entries(env)) if (value === undefined) delete process.env[name];
  return loadAuthSettings();
}

describe("parseDuration", () => {
  it("reads seconds with or without a unit", () => {
    expect(parseDuration("900")).toBe(900);
    expect(parseDuration("30s")).toBe(30);
    expect(parseDuration("15m")).toBe(900);
    expect(parseDuration("12h")).toBe(43_200);
    expect(parseDuration("30d")).toBe(2_592_000);
    expect(parseDuration("2w")).toBe(1_209_600);
    expect(parseDuration(" 1.5h ")).toBe(5_400);
  });

  it("refuses anything else", () => {
    for (const text of ["", "soon", "-5s", "5 minutes", "1y", "5ss"]) expect(parseDuration(text)).toBeUndefined();
  });
});

describe("key rotation settings", () => {
  it("rotate every 30 days and keep a retired key published for a day by default", () => {
    const settings = settingsWith({ JWKS_ROTATION_INTERVAL: undefined, JWKS_GRACE_PERIOD: undefined });
    expect(settings.rotationInterval).toBe(30 * 86_400);
    expect(settings.gracePeriod).toBe(86_400);
    expect(settings.jwksMaxAge).toBe(300);
    expect(settings.warnings).toEqual([]);
  });

  it("take durations from the environment", () => {
    const settings = settingsWith({ JWKS_ROTATION_INTERVAL: "3s", JWKS_GRACE_PERIOD: "8s", JWT_EXPIRATION: "30s" });
    expect([settings.rotationInterval, settings.gracePeriod, settings.jwksMaxAge]).toEqual([3, 8, 2]);
  });

  it("stop the server on a malformed or zero duration", () => {
    for (const value of ["often", "0s", "-1d"]) {
      expect(() => settingsWith({ JWKS_ROTATION_INTERVAL: value })).toThrow(AuthConfigError);
      expect(() => settingsWith({ JWKS_GRACE_PERIOD: value })).toThrow(/JWKS_GRACE_PERIOD/);
    }
  });

  it("warn when a retired key would leave the JWKS before the tokens it signed expire", () => {
    const short = settingsWith({ JWKS_GRACE_PERIOD: "10m", JWT_EXPIRATION: "15m" });
    expect(short.warnings).toHaveLength(1);
    expect(short.warnings[0]).toMatch(/JWKS_GRACE_PERIOD/);
    expect(settingsWith({ JWKS_GRACE_PERIOD: "16m", JWT_EXPIRATION: "15m" }).warnings).toEqual([]);
  });

  it("warn when tokens would outlive the backend's lifetime cap", () => {
    expect(settingsWith({ JWT_EXPIRATION: "2h", JWKS_GRACE_PERIOD: "1d" }).warnings[0]).toMatch(
      /JWT_MAX_LIFETIME_SECONDS/,
    );
  });

  it("advertise a JWKS max-age of a quarter of the grace period, between 1 s and 5 min", () => {
    expect(jwksMaxAgeFor(2)).toBe(1);
    expect(jwksMaxAgeFor(40)).toBe(10);
    expect(jwksMaxAgeFor(86_400)).toBe(300);
  });
});

describe("rate-limit storage", () => {
  it("is the database when replicas can share one (PostgreSQL), memory for a SQLite file", () => {
    expect(settingsWith({ DATABASE_URL: "postgres://u:p@db:5432/app" }).rateLimitStorage).toBe("database");
    expect(settingsWith({ DATABASE_URL: "postgresql+psycopg://u:p@db/app" }).rateLimitStorage).toBe("database");
    expect(settingsWith({ DATABASE_URL: "./auth.db" }).rateLimitStorage).toBe("memory");
    expect(settingsWith({ DATABASE_URL: undefined }).rateLimitStorage).toBe("memory");
  });
});
