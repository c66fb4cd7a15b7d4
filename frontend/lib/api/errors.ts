export type ApiErrorKind =
  | "unauthorized"
  | "forbidden"
  | "not_found"
  | "validation"
  | "network"
  | "server"
  | "rate_limited";

export interface ApiErrorInit {
  kind: ApiErrorKind;
  message: string;
  method: string;
  status?: number | null;
  code?: string | null;
  fields?: Record<string, string>;
  retryAfterSeconds?: number | null;
  requestId?: string | null;
  cause?: unknown;
}

const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE"]);
const TRANSIENT: ReadonlySet<ApiErrorKind> = new Set(["network", "server", "rate_limited"]);

/** Every failure of a backend call, normalised. */
export class ApiError extends Error {
  override readonly name = "ApiError";
  readonly kind: ApiErrorKind;
  readonly method: string;
  readonly status: number | null;
  readonly code: string | null;
  readonly fields: Readonly<Record<string, string>>;
  readonly retryAfterSeconds: number | null;
  readonly requestId: string | null;

  constructor(init: ApiErrorInit) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.kind = init.kind;
    this.method = init.method.toUpperCase();
    this.status = init.status ?? null;
    this.code = init.code ?? null;
    this.fields = init.fields ?? {};
    this.retryAfterSeconds = init.retryAfterSeconds ?? null;
    this.requestId = init.requestId ?? null;
  }

  /** Worth repeating: a transient failure of a request that is safe to send twice. */
  get retryable(): boolean {
    return TRANSIENT.has(this.kind) && IDEMPOTENT.has(this.method);
  }
}

export function isApiError(value: unknown): value is ApiError {
  return value instanceof ApiError;
}

export function isAbortError(value: unknown): boolean {
  return (
    typeof value === "object" &&
    value !== null &&
    "name" in value &&
    (value.name === "AbortError" || value.name === "TimeoutError")
  );
}

export function kindForStatus(status: number): ApiErrorKind {
  if (status === 401) return "unauthorized";
  if (status === 403) return "forbidden";
  if (status === 404) return "not_found";
  if (status === 429) return "rate_limited";
  if (status === 400 || status === 409 || status === 413 || status === 422) return "validation";
  return "server";
}

const DEFAULT_MESSAGES: Record<ApiErrorKind, string> = {
  unauthorized: "Your session has ended. Please sign in again.",
  forbidden: "You don't have permission to do that.",
  not_found: "That item no longer exists.",
  validation: "Some values are not valid.",
  network: "Could not reach the server. Check your connection.",
  server: "The server had a problem. Please try again.",
  rate_limited: "Too many requests. Please wait a moment.",
};

export function defaultMessage(kind: ApiErrorKind): string {
  return DEFAULT_MESSAGES[kind];
}

function parseRetryAfter(value: string | null): number | null {
  if (value === null) return null;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds;
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, Math.ceil((date - Date.now()) / 1000));
}

interface ErrorEnvelope {
  code?: unknown;
  message?: unknown;
  fields?: unknown;
}

function envelopeOf(body: unknown): ErrorEnvelope | null {
  if (typeof body !== "object" || body === null || !("error" in body)) return null;
  const inner = body.error;
  return typeof inner === "object" && inner !== null ? (inner as ErrorEnvelope) : null;
}

function stringFields(value: unknown): Record<string, string> {
  if (typeof value !== "object" || value === null) return {};
  const fields: Record<string, string> = {};
  for (const [name, message] of Object.entries(value)) {
    if (typeof message === "string") fields[name] = message;
  }
  return fields;
}

/** Builds the ApiError for a non-2xx response from the backend's `{"error": {...}}` body. */
export async function errorFromResponse(response: Response, method: string): Promise<ApiError> {
  const kind = kindForStatus(response.status);
  let body: unknown = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  const envelope = envelopeOf(body);
  const serverMessage = typeof envelope?.message === "string" ? envelope.message : null;
  return new ApiError({
    kind,
    method,
    status: response.status,
    code: typeof envelope?.code === "string" ? envelope.code : null,
    message: kind === "validation" && serverMessage ? serverMessage : defaultMessage(kind),
    fields: stringFields(envelope?.fields),
    retryAfterSeconds: parseRetryAfter(response.headers.get("retry-after")),
    requestId: response.headers.get("x-request-id"),
  });
}
