"use client";

import Link from "next/link";
import { useEffect } from "react";
import { toast } from "sonner";

import { useServices } from "@/components/providers";
import { Alert, Button } from "@/components/ui";
import { toastSessionExpired } from "@/lib/session-toast";
import { loginSchema } from "@/lib/validation";

import { signInErrorMessage } from "./auth-errors";
import { AuthField } from "./auth-field";
import { useAuthForm } from "./use-auth-form";

type Values = { email: string; password: string };

export function LoginForm({ next, expired }: { next: string; expired: boolean }) {
  const { authClient } = useServices();
  const { values, set, errors, formError, pending, hydrated, onSubmit } = useAuthForm<Values>({
    initial: { email: "", password: "" },
    schema: loginSchema,
    submit: (data) => authClient.signIn.email(data),
    errorMessage: signInErrorMessage,
    onSuccess: () => toast.success("Signed in", { testId: "toast-signed-in" }),
    next,
  });

  // The page that noticed the ended session navigated here with a full load, which wiped
  // its toast: say it again where the user now is. The id keeps it to one toast.
  useEffect(() => {
    if (expired) toastSessionExpired();
  }, [expired]);

  return (
    <form noValidate method="post" onSubmit={onSubmit} className="space-y-4" data-testid="login-form" aria-label="Sign in">
      {expired ? (
        <Alert tone="info" testId="session-expired-notice">
          Your session has ended. Sign in again to continue where you left off.
        </Alert>
      ) : null}
      {formError ? <Alert testId="login-error">{formError}</Alert> : null}
      <AuthField
        form="login"
        name="email"
        label="Email"
        type="email"
        autoComplete="email"
        value={values.email}
        error={errors.email}
        onChange={set("email")}
      />
      <AuthField
        form="login"
        name="password"
        label="Password"
        type="password"
        autoComplete="current-password"
        value={values.password}
        error={errors.password}
        onChange={set("password")}
      />
      <Button type="submit" className="w-full" disabled={!hydrated || pending} data-testid="login-submit">
        {pending ? "Signing in…" : "Sign in"}
      </Button>
      <p className="text-center text-sm text-slate-600">
        No account yet?{" "}
        <Link
          href={`/signup?next=${encodeURIComponent(next)}`}
          className="font-medium text-indigo-600 hover:text-indigo-500"
          data-testid="signup-link"
        >
          Create one
        </Link>
      </p>
    </form>
  );
}
