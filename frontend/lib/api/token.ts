import { decodeJwt } from "jose";

import { abortable } from "./abortable";

/** Returns a fresh access token, or null when there is no session. */
export type FetchToken = () => Promise<string | null>;

export interface TokenManagerOptions {
  /** Renew this long before expiry at most (default 30 s)... */
  maxRefreshMarginMs?: number;
  /** ...but never more than this share of the token's lifetime (default 0.25). */
  refreshMarginRatio?: number;
  now?: () => number;
}

interface CachedToken {
  token: string;
  /** Local clock time after which the token is renewed before use. */
  renewAtMs: number;
}

/**
 * Holds the access token in memory only. Reuses it until shortly before `exp`
 * (decoded, not verified: the backend verifies) and shares one in-flight fetch
 * among concurrent callers.
 */
export class TokenManager {
  readonly #fetchToken: FetchToken;
  readonly #maxMarginMs: number;
  readonly #marginRatio: number;
  readonly #now: () => number;
  #cached: CachedToken | null = null;
  #inflight: Promise<string | null> | null = null;
  // Bumped by clear(): a fetch that started before sign-out must not refill the cache.
  #generation = 0;

  constructor(fetchToken: FetchToken, options: TokenManagerOptions = {}) {
    this.#fetchToken = fetchToken;
    this.#maxMarginMs = options.maxRefreshMarginMs ?? 30_000;
    this.#marginRatio = options.refreshMarginRatio ?? 0.25;
    this.#now = options.now ?? Date.now;
  }

  /** A usable token, or null when the user has no session. */
  get(signal?: AbortSignal): Promise<string | null> {
    const cached = this.#cached;
    if (cached && this.#now() < cached.renewAtMs) return Promise.resolve(cached.token);
    return abortable(this.#shared(), signal);
  }

  /** Drops `token` if it is still the cached one (the backend refused it). */
  invalidate(token: string): void {
    if (this.#cached?.token === token) this.#cached = null;
  }

  /** Forgets everything (sign-out). */
  clear(): void {
    this.#cached = null;
    this.#inflight = null;
    this.#generation += 1;
  }

  #shared(): Promise<string | null> {
    if (this.#inflight) return this.#inflight;
    const generation = this.#generation;
    const request = this.#fetchToken()
      .then((token) => {
        if (generation === this.#generation) this.#cached = token ? this.#entryFor(token) : null;
        return token;
      })
      .finally(() => {
        if (this.#inflight === request) this.#inflight = null;
      });
    this.#inflight = request;
    return request;
  }

  #entryFor(token: string): CachedToken | null {
    let exp: number | undefined;
    let iat: number | undefined;
    try {
      ({ exp, iat } = decodeJwt(token));
    } catch {
      return null;
    }
    if (typeof exp !== "number") return null;
    const receivedAt = this.#now();
    // Lifetime from the token's own iat/exp keeps a skewed local clock out of the sum.
    const lifetimeMs =
      typeof iat === "number" && exp > iat ? (exp - iat) * 1000 : exp * 1000 - receivedAt;
    if (lifetimeMs <= 0) return null;
    const margin = Math.min(this.#maxMarginMs, lifetimeMs * this.#marginRatio);
    return { token, renewAtMs: receivedAt + lifetimeMs - margin };
  }
}
