import { z } from "zod";

export const TITLE_MAX = 200;
export const DESCRIPTION_MAX = 2000;

export const loginSchema = z.object({
  email: z.string().trim().min(1, { error: "Enter your email address." }).pipe(z.email({ error: "Enter a valid email address." })),
  password: z.string().min(1, { error: "Enter your password." }),
});

export const signupSchema = z.object({
  name: z.string().trim().min(1, { error: "Enter your name." }).max(100, { error: "Use at most 100 characters." }),
  email: z.string().trim().min(1, { error: "Enter your email address." }).pipe(z.email({ error: "Enter a valid email address." })),
  password: z
    .string()
    .min(8, { error: "Use at least 8 characters." })
    .max(128, { error: "Use at most 128 characters." }),
});

export const taskSchema = z.object({
  title: z
    .string()
    .trim()
    .min(1, { error: "Enter a title." })
    .max(TITLE_MAX, { error: `Use at most ${TITLE_MAX} characters.` }),
  description: z.string().max(DESCRIPTION_MAX, { error: `Use at most ${DESCRIPTION_MAX} characters.` }),
});

export type FieldErrors<T> = Partial<Record<keyof T & string, string>>;

type Parsed<T> = { ok: true; data: T } | { ok: false; errors: FieldErrors<T> };

/** Parses form values; on failure returns the first message for each field. */
export function validate<S extends z.ZodType<Record<string, unknown>>>(schema: S, values: unknown): Parsed<z.output<S>> {
  const result = schema.safeParse(values);
  if (result.success) return { ok: true, data: result.data };
  const errors: Record<string, string> = {};
  for (const issue of result.error.issues) {
    const field = issue.path[0];
    if (typeof field === "string" && !(field in errors)) errors[field] = issue.message;
  }
  return { ok: false, errors: errors as FieldErrors<z.output<S>> };
}
