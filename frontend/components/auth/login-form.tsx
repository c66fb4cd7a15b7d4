"use client";

import Link from "next/link";
import { useEffect } from "react";
import { toast } from "sonner";

import { useServices } from "@/components/providers";
import { Alert, Button, Field, inputClass } from "@/components/ui";
import { toastSessionExpired } from "@/lib/session-toast";
import { loginSchema } from "@/lib/validation";

import { signInErrorMessage } from "./auth-errors";
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
      <Field id="login-email" label="Email" error={errors.email} testId="login-email">
        {(props) => (
          <input
            {...props}
            type="email"
            name="email"
            autoComplete="email"
            required
            className={inputClass}
            value={values.email}
            onChange={set("email")}
          />
        )}
      </Field>
      <Field id="login-password" label="Password" error={errors.password} testId="login-password">
        {(props) => (
          <input
            {...props}
            type="password"
            name="password"
            autoComplete="current-password"
            required
            className={inputClass}
            value={values.password}
            onChange={set("password")}
          />
        )}
      </Field>
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
