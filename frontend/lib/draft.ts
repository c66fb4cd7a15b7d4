/**
 * The new-task draft survives a trip through /login (session ended mid-typing) in
 * sessionStorage: only the text the user typed, never a token.
 */
export interface TaskDraft {
  title: string;
  description: string;
}

export const DRAFT_KEY = "tasks:new-task-draft";

function storage(): Storage | null {
  try {
    return typeof window === "undefined" ? null : window.sessionStorage;
  } catch {
    return null;
  }
}

export function loadDraft(): TaskDraft | null {
  const raw = storage()?.getItem(DRAFT_KEY);
  if (!raw) return null;
  try {
    const value: unknown = JSON.parse(raw);
    if (typeof value !== "object" || value === null) return null;
    const { title, description } = value as Record<string, unknown>;
    if (typeof title !== "string" || typeof description !== "string") return null;
    return { title, description };
  } catch {
    return null;
  }
}

export function saveDraft(draft: TaskDraft): void {
  const store = storage();
  if (!store) return;
  try {
    if (draft.title === "" && draft.description === "") store.removeItem(DRAFT_KEY);
    else store.setItem(DRAFT_KEY, JSON.stringify(draft));
  } catch {
    // Storage full or disabled: the draft is a convenience, not data.
  }
}

export function clearDraft(): void {
  try {
    storage()?.removeItem(DRAFT_KEY);
  } catch {
    // See saveDraft.
  }
}
