import { describe, expect, it } from "vitest";

import { signInErrorMessage } from "@/components/auth/auth-errors";

describe("sign-in error messages", () => {
  it("say the same thing for a wrong password and an unknown account", () => {
    const wrongPassword = signInErrorMessage({ status: 401, code: "INVALID_EMAIL_OR_PASSWORD" });
    const unknownEmail = signInErrorMessage({ status: 401, code: "INVALID_EMAIL_OR_PASSWORD", message: "User not found" });
    expect(wrongPassword).toBe("Invalid email or password.");
    expect(unknownEmail).toBe(wrongPassword);
  });

  it("tell rate limiting and outages apart from bad credentials", () => {
    expect(signInErrorMessage({ status: 429 })).toMatch(/too many/i);
    expect(signInErrorMessage({ status: 0 })).toMatch(/could not reach/i);
  });
});
