import { abortReason } from "./abortable";
import { ApiError, defaultMessage, errorFromResponse, isAbortError } from "./errors";
import type { TokenManager } from "./token";

export type HttpMethod = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
export type QueryValue = string | number | boolean | null | undefined;

export interface RequestOptions {
  query?: Record<string, QueryValue>;
  body?: unknown;
  signal?: AbortSignal;
}

export interface ApiLogEntry {
  method: HttpMethod;
  url: string;
  status: number | "network-error";
  durationMs: number;
  requestId: string | null;
  attempt: number;
}

/** Makes DPoP proofs and keeps the server nonces they must carry. */
export interface ProofSigner {
  proof(method: HttpMethod, url: string, token: string): Promise<string>;
  /** Remembers a response's `DPoP-Nonce`; true when it refused the proof for want of one. */
  useNonce(url: string, response: Response): boolean;
}

export interface ApiClientOptions {
  /** Base URL of the task API, e.g. `http://localhost:8000`. */
  baseUrl: string;
  tokens: TokenManager;
  /** With a signer, tokens are sent as `DPoP <token>` with a fresh proof per request. */
  proof?: ProofSigner;
  /** Called once a request stays unauthorised after one renewal (session over). */
  onUnauthorized: () => void;
  fetch?: typeof fetch;
  /** Request/response log sink; the app passes one in development only. */
  log?: (entry: ApiLogEntry) => void;
}

/** The only way the app talks to the task API. */
export class ApiClient {
  readonly #baseUrl: string;
  readonly #tokens: TokenManager;
  readonly #proof: ProofSigner | undefined;
  readonly #onUnauthorized: () => void;
  readonly #fetch: typeof fetch;
  readonly #log: ((entry: ApiLogEntry) => void) | undefined;

  constructor(options: ApiClientOptions) {
    this.#baseUrl = options.baseUrl.replace(/\/+$/, "");
    this.#tokens = options.tokens;
    this.#proof = options.proof;
    this.#onUnauthorized = options.onUnauthorized;
    // Bound: a bare `fetch` reference called as a method throws "Illegal invocation".
    this.#fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.#log = options.log;
  }

  get<T>(path: string, options?: RequestOptions): Promise<T> {
    return this.request<T>("GET", path, options);
  }

  post<T>(path: string, body: unknown, options?: RequestOptions): Promise<T> {
    return this.request<T>("POST", path, { ...options, body });
  }

  put<T>(path: string, body: unknown, options?: RequestOptions): Promise<T> {
    return this.request<T>("PUT", path, { ...options, body });
  }

  patch<T>(path: string, body: unknown, options?: RequestOptions): Promise<T> {
    return this.request<T>("PATCH", path, { ...options, body });
  }

  delete<T = void>(path: string, options?: RequestOptions): Promise<T> {
    return this.request<T>("DELETE", path, options);
  }

  /**
   * Sends one request with the access token (bearer, or DPoP-bound with a proof made for
   * this very attempt). A 401 renews the token and retries once;
   * a second 401 (or no session at all) ends the session. Transient failures are
   * not retried here: TanStack Query owns retries.
   */
  async request<T>(method: HttpMethod, path: string, options: RequestOptions = {}): Promise<T> {
    const url = this.#url(path, options.query);
    const first = await this.#token(method, options.signal);
    let response = await this.#sendWithNonce(method, url, first, options, 1);
    if (response.status === 401) {
      this.#tokens.invalidate(first);
      const renewed = await this.#token(method, options.signal);
      response = await this.#sendWithNonce(method, url, renewed, options, 2);
      if (response.status === 401) {
        this.#endSession();
        throw await errorFromResponse(response, method);
      }
    }
    if (!response.ok) throw await errorFromResponse(response, method);
    if (response.status === 204) return undefined as T;
    try {
      return (await response.json()) as T;
    } catch (error) {
      if (isAbortError(error)) throw error;
      throw new ApiError({ kind: "server", method, status: response.status, message: defaultMessage("server"), cause: error });
    }
  }

  #url(path: string, query: Record<string, QueryValue> | undefined): string {
    const url = new URL(`${this.#baseUrl}${path.startsWith("/") ? path : `/${path}`}`);
    for (const [name, value] of Object.entries(query ?? {})) {
      if (value !== undefined && value !== null) url.searchParams.set(name, String(value));
    }
    return url.toString();
  }

  async #token(method: HttpMethod, signal: AbortSignal | undefined): Promise<string> {
    let token: string | null;
    try {
      token = await this.#tokens.get(signal);
    } catch (error) {
      if (isAbortError(error) || error instanceof ApiError) throw error;
      throw new ApiError({ kind: "network", method, message: defaultMessage("network"), cause: error });
    }
    if (token === null) {
      this.#endSession();
      throw new ApiError({ kind: "unauthorized", method, status: 401, message: defaultMessage("unauthorized") });
    }
    return token;
  }

  #endSession(): void {
    this.#tokens.clear();
    this.#onUnauthorized();
  }

  /** A server that asks for a (new) DPoP nonce gets the same request again, once, with it. */
  async #sendWithNonce(
    method: HttpMethod,
    url: string,
    token: string,
    options: RequestOptions,
    attempt: number,
  ): Promise<Response> {
    const response = await this.#send(method, url, token, options, attempt);
    if (!this.#proof?.useNonce(url, response) || response.status !== 401) return response;
    return this.#send(method, url, token, options, attempt);
  }

  async #signed(method: HttpMethod, url: string, token: string): Promise<string> {
    try {
      return await this.#proof!.proof(method, url, token);
    } catch (error) {
      // Key storage or WebCrypto failed: nothing was sent; like a failed token fetch.
      throw new ApiError({ kind: "network", method, message: defaultMessage("network"), cause: error });
    }
  }

  async #send(
    method: HttpMethod,
    url: string,
    token: string,
    options: RequestOptions,
    attempt: number,
  ): Promise<Response> {
    if (options.signal?.aborted) throw abortReason(options.signal);
    const headers: Record<string, string> = { Accept: "application/json" };
    if (this.#proof) {
      headers.Authorization = `DPoP ${token}`;
      headers.DPoP = await this.#signed(method, url, token);
      if (options.signal?.aborted) throw abortReason(options.signal);
    } else {
      headers.Authorization = `Bearer ${token}`;
    }
    const init: RequestInit = {
      method,
      headers,
      // The API is authorised by the access token alone; no cookies cross origins.
      credentials: "omit",
      cache: "no-store",
      signal: options.signal ?? null,
    };
    if (options.body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(options.body);
    }
    const started = performance.now();
    try {
      const response = await this.#fetch(url, init);
      this.#log?.({
        method,
        url,
        status: response.status,
        durationMs: Math.round(performance.now() - started),
        requestId: response.headers.get("x-request-id"),
        attempt,
      });
      return response;
    } catch (error) {
      if (isAbortError(error)) throw error;
      this.#log?.({
        method,
        url,
        status: "network-error",
        durationMs: Math.round(performance.now() - started),
        requestId: null,
        attempt,
      });
      throw new ApiError({ kind: "network", method, message: defaultMessage("network"), cause: error });
    }
  }
}
