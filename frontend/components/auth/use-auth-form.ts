"use client";

import { useRouter } from "next/navigation";
import { type FormEvent, useState } from "react";
import type { z } from "zod";

import { useServices } from "@/components/providers";
import { useHydrated } from "@/lib/use-hydrated";
import { type FieldErrors, validate } from "@/lib/validation";

import type { AuthClientError } from "./auth-errors";

type Values = Record<string, string>;

interface AuthFormOptions<V extends Values> {
  initial: V;
  schema: z.ZodType<V>;
  /** Calls Better Auth; resolves with its error, if any. */
  submit: (values: V) => Promise<{ error: AuthClientError | null }>;
  errorMessage: (error: AuthClientError) => string;
  onSuccess: () => void;
  next: string;
}

/** State and submit flow shared by the sign-in and sign-up forms. */
export function useAuthForm<V extends Values>(options: AuthFormOptions<V>) {
  const { resetSession } = useServices();
  const router = useRouter();
  const [values, setValues] = useState<V>(options.initial);
  const [errors, setErrors] = useState<FieldErrors<V>>({});
  const [formError, setFormError] = useState<string | null>(null);
  const [pending, setPending] = useState(false);
  // Before hydration a click would submit natively, putting the password in the URL.
  const hydrated = useHydrated();

  const onSubmit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    setFormError(null);
    const parsed = validate(options.schema, values);
    if (!parsed.ok) {
      setErrors(parsed.errors);
      return;
    }
    setErrors({});
    setPending(true);
    try {
      const { error } = await options.submit(parsed.data);
      if (error) {
        setFormError(options.errorMessage(error));
        return;
      }
    } catch {
      setFormError(options.errorMessage({ status: 0 }));
      return;
    } finally {
      setPending(false);
    }
    resetSession();
    options.onSuccess();
    router.replace(options.next);
  };

  const set = (field: keyof V) => (event: { target: { value: string } }) =>
    setValues((current) => ({ ...current, [field]: event.target.value }));

  return { values, set, errors, formError, pending, hydrated, onSubmit };
}
