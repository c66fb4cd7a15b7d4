"use client";

import Link from "next/link";
import { toast } from "sonner";

import { useServices } from "@/components/providers";
import { Alert, Button } from "@/components/ui";
import { signupSchema } from "@/lib/validation";

import { signUpErrorMessage } from "./auth-errors";
import { AuthField } from "./auth-field";
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
      <AuthField
        form="signup"
        name="name"
        label="Name"
        type="text"
        autoComplete="name"
        value={values.name}
        error={errors.name}
        onChange={set("name")}
      />
      <AuthField
        form="signup"
        name="email"
        label="Email"
        type="email"
        autoComplete="email"
        value={values.email}
        error={errors.email}
        onChange={set("email")}
      />
      <AuthField
        form="signup"
        name="password"
        label="Password"
        type="password"
        autoComplete="new-password"
        value={values.password}
        error={errors.password}
        hint="At least 8 characters."
        onChange={set("password")}
      />
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
