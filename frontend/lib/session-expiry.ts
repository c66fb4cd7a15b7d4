import { loginUrlFor } from "./safe-next";

export interface SessionExpiryDeps {
  /** Ends the Better Auth session (best effort: the server may be unreachable). */
  signOut: () => Promise<unknown>;
  /** Drops in-memory state that belongs to the old session (token, query cache). */
  forget: () => void;
  notify: () => void;
  navigate: (url: string) => void;
  /** Path and query the user is on, to come back to after signing in. */
  currentPath: () => string;
}

/** `/login?next=...&reason=expired`: the login page then explains why and does not bounce back. */
export function expiredLoginUrl(pathWithQuery: string): string {
  return `${loginUrlFor(pathWithQuery)}&reason=expired`;
}

/**
 * What happens when the API keeps refusing the session: sign out locally and go to
 * /login, once, however many requests fail together.
 */
export function createSessionExpiredHandler(deps: SessionExpiryDeps): () => void {
  let started = false;
  return () => {
    if (started) return;
    started = true;
    const target = expiredLoginUrl(deps.currentPath());
    deps.forget();
    deps.notify();
    void deps
      .signOut()
      .catch(() => undefined)
      .finally(() => deps.navigate(target));
  };
}
