// @vitest-environment jsdom
import { beforeEach, describe, expect, it } from "vitest";

import { clearDraft, DRAFT_KEY, loadDraft, saveDraft } from "@/lib/draft";

describe("task draft", () => {
  beforeEach(() => {
    window.sessionStorage.clear();
    window.localStorage.clear();
  });

  it("round-trips the typed text through sessionStorage only", () => {
    saveDraft({ title: "Call Bob", description: "about the invoice" });
    expect(loadDraft()).toEqual({ title: "Call Bob", description: "about the invoice" });
    expect(window.localStorage.length).toBe(0);
    expect(Object.keys(window.sessionStorage)).toEqual([DRAFT_KEY]);
  });

  it("an empty draft is removed, and clearDraft forgets it", () => {
    saveDraft({ title: "x", description: "" });
    saveDraft({ title: "", description: "" });
    expect(loadDraft()).toBeNull();
    saveDraft({ title: "y", description: "" });
    clearDraft();
    expect(loadDraft()).toBeNull();
  });

  it("ignores malformed stored values", () => {
    window.sessionStorage.setItem(DRAFT_KEY, "{not json");
    expect(loadDraft()).toBeNull();
    window.sessionStorage.setItem(DRAFT_KEY, JSON.stringify({ title: 1 }));
    expect(loadDraft()).toBeNull();
  });
});
