"use client";

import Link from "next/link";
import { toast } from "sonner";

import { useServices } from "@/components/providers";
import { Alert, Button, Field, inputClass } from "@/components/ui";
import { signupSchema } from "@/lib/validation";

import { signUpErrorMessage } from "./auth-errors";
import { useAuthForm } from "./use-auth-form";

type Values = { name: string; email: string; password: string };

export function SignupForm({ next }: { next: string }) {
  const { authClient } = useServices();
  const { values, set, errors, formError, pending, hydrated, onSubmit } = useAuthForm<Values>({
    initial: { name: "", email: "", password: "" },
    schema: signupSchema,
    submit: (data) => authClient.signUp.email(data),
    errorMessage: signUpErrorMessage,
    onSuccess: () => toast.success("Account created. Welcome!", { testId: "toast-signed-up" }),
    next,
  });

  return (
    <form noValidate method="post" onSubmit={onSubmit} className="space-y-4" data-testid="signup-form" aria-label="Create account">
      {formError ? <Alert testId="signup-error">{formError}</Alert> : null}
      <Field id="signup-name" label="Name" error={errors.name} testId="signup-name">
        {(props) => (
          <input
            {...props}
            type="text"
            name="name"
            autoComplete="name"
            required
            className={inputClass}
            value={values.name}
            onChange={set("name")}
          />
        )}
      </Field>
      <Field id="signup-email" label="Email" error={errors.email} testId="signup-email">
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
      <Field
        id="signup-password"
        label="Password"
        error={errors.password}
        testId="signup-password"
        hint="At least 8 characters."
      >
        {(props) => (
          <input
            {...props}
            type="password"
            name="password"
            autoComplete="new-password"
            required
            className={inputClass}
            value={values.password}
            onChange={set("password")}
          />
        )}
      </Field>
      <Button type="submit" className="w-full" disabled={!hydrated || pending} data-testid="signup-submit">
        {pending ? "Creating account…" : "Create account"}
      </Button>
      <p className="text-center text-sm text-slate-600">
        Already have an account?{" "}
        <Link
          href={`/login?next=${encodeURIComponent(next)}`}
          className="font-medium text-indigo-600 hover:text-indigo-500"
          data-testid="login-link"
        >
          Sign in
        </Link>
      </p>
    </form>
  );
}
