import { describe, expect, it } from "vitest";

import { DEFAULT_AFTER_LOGIN, loginUrlFor, safeNextPath } from "@/lib/safe-next";

describe("safeNextPath", () => {
  it.each([
    ["/tasks", "/tasks"],
    ["/tasks?filter=active", "/tasks?filter=active"],
    ["/tasks?filter=completed&user=abc#top", "/tasks?filter=completed&user=abc#top"],
    ["/", "/"],
    ["/tasks/../tasks", "/tasks"],
  ])("keeps the same-origin path %s", (input, expected) => {
    expect(safeNextPath(input)).toBe(expected);
  });

  it.each([
    // Protocol-relative and absolute URLs.
    "//evil.example",
    "//evil.example/tasks",
    "https://evil.example",
    "http://localhost:3000/tasks",
    "javascript:alert(1)",
    "data:text/html,hi",
    // Backslashes: browsers treat "\\" like "/".
    "/\\evil.example",
    "\\\\evil.example",
    "/\\/evil.example",
    // Encoded variants of the same tricks.
    "%2F%2Fevil.example",
    "/%2F%2Fevil.example",
    "/%2fevil.example",
    "/%5Cevil.example",
    "/%5cevil.example",
    "%252F%252Fevil.example",
    "/%252F%252Fevil.example",
    "/%09/evil.example",
    // Whitespace and control characters (tabs and newlines are stripped by browsers).
    "/\t/evil.example",
    "/\n/evil.example",
    " /tasks",
    // Relative paths and junk.
    "tasks",
    "evil.example",
    "",
    "%",
    "/%E0%A4%A",
    // Loops and non-pages.
    "/login",
    "/login?next=/tasks",
    "/signup",
    "/api/auth/sign-out",
    "/api",
  ])("rejects %j", (input) => {
    expect(safeNextPath(input)).toBe(DEFAULT_AFTER_LOGIN);
  });

  it("rejects missing, array-of-bad and oversized values", () => {
    expect(safeNextPath(undefined)).toBe(DEFAULT_AFTER_LOGIN);
    expect(safeNextPath(null)).toBe(DEFAULT_AFTER_LOGIN);
    expect(safeNextPath(["//evil.example", "/tasks"])).toBe(DEFAULT_AFTER_LOGIN);
    expect(safeNextPath(`/${"a".repeat(3000)}`)).toBe(DEFAULT_AFTER_LOGIN);
  });

  it("takes the first of repeated parameters", () => {
    expect(safeNextPath(["/tasks?filter=active", "//evil.example"])).toBe("/tasks?filter=active");
  });

  it("builds login URLs that carry an encoded, sanitised next", () => {
    expect(loginUrlFor("/tasks?filter=active")).toBe("/login?next=%2Ftasks%3Ffilter%3Dactive");
    expect(loginUrlFor("//evil.example")).toBe("/login?next=%2Ftasks");
  });
});
