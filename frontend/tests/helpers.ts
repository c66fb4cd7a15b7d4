import { vi } from "vitest";

import { ApiClient } from "@/lib/api/client";
import { TokenManager } from "@/lib/api/token";

function base64url(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString("base64url");
}

/** An unsigned JWT-shaped string: the client only decodes tokens, it never verifies them. */
export function fakeJwt(claims: { iat?: number; exp?: number; sub?: string; n?: number }): string {
  return `${base64url({ alg: "RS256", kid: "test" })}.${base64url({ sub: "user-1", ...claims })}.sig`;
}

export function jsonResponse(status: number, body?: unknown, headers: Record<string, string> = {}): Response {
  if (status === 204) return new Response(null, { status, headers });
  return new Response(JSON.stringify(body ?? {}), {
    status,
    headers: { "Content-Type": "application/json", ...headers },
  });
}

export function errorBody(code: string, message: string, fields?: Record<string, string>) {
  return { error: { code, message, ...(fields ? { fields } : {}) } };
}

/** Token source handing out distinct tokens valid for 15 minutes from "now" (seconds). */
export function tokenSource(nowSeconds: () => number = () => Math.floor(Date.now() / 1000)) {
  let issued = 0;
  const fetchToken = vi.fn(async () => {
    issued += 1;
    const iat = nowSeconds();
    return fakeJwt({ iat, exp: iat + 900, n: issued });
  });
  return fetchToken;
}

/** Resolves after pending promise callbacks have run. */
export function flushPromises(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export interface ClientHarness {
  client: ApiClient;
  tokens: TokenManager;
  fetchToken: ReturnType<typeof vi.fn<() => Promise<string | null>>>;
  fetchMock: ReturnType<typeof vi.fn<typeof fetch>>;
  onUnauthorized: ReturnType<typeof vi.fn<() => void>>;
}

export function makeClient(
  respond: (url: string, init: RequestInit, call: number) => Promise<Response> | Response,
  fetchToken?: () => Promise<string | null>,
): ClientHarness {
  let calls = 0;
  const fetchMock = vi.fn<typeof fetch>(async (input, init) => {
    calls += 1;
    return respond(String(input), init ?? {}, calls);
  });
  const tokenFetch = vi.fn<() => Promise<string | null>>(fetchToken ?? tokenSource());
  const tokens = new TokenManager(tokenFetch);
  const onUnauthorized = vi.fn<() => void>();
  const client = new ApiClient({ baseUrl: "http://api.test", tokens, onUnauthorized, fetch: fetchMock });
  return { client, tokens, fetchToken: tokenFetch, fetchMock, onUnauthorized };
}

export function bearerOf(init: RequestInit): string | undefined {
  const headers = init.headers as Record<string, string> | undefined;
  return headers?.Authorization;
}
