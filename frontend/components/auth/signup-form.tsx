"use client";

import Link from "next/link";
import { useRouter } from "next/navigation";
import { type FormEvent, useState } from "react";
import { toast } from "sonner";

import { useServices } from "@/components/providers";
import { Alert, Button, Field, inputClass } from "@/components/ui";
import { useHydrated } from "@/lib/use-hydrated";
import { type FieldErrors, signupSchema, validate } from "@/lib/validation";

import { signUpErrorMessage } from "./auth-errors";

type Values = { name: string; email: string; password: string };

export function SignupForm({ next }: { next: string }) {
  const { authClient, resetSession } = useServices();
  const router = useRouter();
  const [values, setValues] = useState<Values>({ name: "", email: "", password: "" });
  const [errors, setErrors] = useState<FieldErrors<Values>>({});
  const [formError, setFormError] = useState<string | null>(null);
  const [pending, setPending] = useState(false);
  // Before hydration a click would submit natively, putting the password in the URL.
  const hydrated = useHydrated();

  const onSubmit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    setFormError(null);
    const parsed = validate(signupSchema, values);
    if (!parsed.ok) {
      setErrors(parsed.errors);
      return;
    }
    setErrors({});
    setPending(true);
    try {
      const { error } = await authClient.signUp.email(parsed.data);
      if (error) {
        setFormError(signUpErrorMessage(error));
        return;
      }
    } catch {
      setFormError(signUpErrorMessage({ status: 0 }));
      return;
    } finally {
      setPending(false);
    }
    resetSession();
    toast.success("Account created. Welcome!", { testId: "toast-signed-up" });
    router.replace(next);
  };

  const set = (field: keyof Values) => (event: { target: { value: string } }) =>
    setValues((current) => ({ ...current, [field]: event.target.value }));

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
