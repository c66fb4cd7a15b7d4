"use client";

import { type FormEvent, useRef, useState } from "react";

import { Button, Field, inputClass } from "@/components/ui";
import { isApiError } from "@/lib/api/errors";
import { clearDraft, loadDraft, saveDraft, type TaskDraft } from "@/lib/draft";
import { useHydrated } from "@/lib/use-hydrated";
import { DESCRIPTION_MAX, type FieldErrors, TITLE_MAX, taskSchema, validate } from "@/lib/validation";

import { OPTIMISTIC_PREFIX, useCreateTask } from "./use-tasks";

const EMPTY: TaskDraft = { title: "", description: "" };

function sameDraft(a: TaskDraft | null, b: TaskDraft): boolean {
  return a !== null && a.title === b.title && a.description === b.description;
}

export function NewTaskForm({ ownerId }: { ownerId: string }) {
  // sessionStorage exists only in the browser: the form remounts with the draft once hydrated.
  const hydrated = useHydrated();
  const draft = hydrated ? loadDraft() : null;
  return <NewTaskFormBody key={hydrated ? "browser" : "server"} ownerId={ownerId} draft={draft} ready={hydrated} />;
}

function NewTaskFormBody({ ownerId, draft, ready }: { ownerId: string; draft: TaskDraft | null; ready: boolean }) {
  // Drafts in flight by placeholder id: the stored draft is cleared when the API confirms
  // (before the list shows the task as saved) and only if it was not edited meanwhile.
  const inFlight = useRef(new Map<string, TaskDraft>());
  const create = useCreateTask(ownerId, ({ tempId }) => {
    const submitted = inFlight.current.get(tempId);
    inFlight.current.delete(tempId);
    if (submitted && sameDraft(loadDraft(), submitted)) clearDraft();
  });
  const [values, setValues] = useState<TaskDraft>(draft ?? EMPTY);
  const [errors, setErrors] = useState<FieldErrors<TaskDraft>>({});
  const [restored, setRestored] = useState(draft !== null);
  const titleRef = useRef<HTMLInputElement>(null);

  const update = (field: keyof TaskDraft, value: string) => {
    const next = { ...values, [field]: value };
    setValues(next);
    saveDraft(next);
  };

  const onSubmit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const parsed = validate(taskSchema, values);
    if (!parsed.ok) {
      setErrors(parsed.errors);
      return;
    }
    const submitted = values;
    setErrors({});
    setRestored(false);
    setValues(EMPTY);
    titleRef.current?.focus();
    // The stored draft stays until the API confirms: a session that ends now keeps it.
    const tempId = `${OPTIMISTIC_PREFIX}${crypto.randomUUID()}`;
    inFlight.current.set(tempId, submitted);
    create.mutate(
      { ...parsed.data, tempId },
      {
        onError: (error) => {
          inFlight.current.delete(tempId);
          setValues((current) => (current.title === "" && current.description === "" ? submitted : current));
          if (isApiError(error) && error.kind === "validation") {
            setErrors({ title: error.fields.title, description: error.fields.description });
          }
        },
      },
    );
  };

  return (
    <form
      noValidate
      method="post"
      onSubmit={onSubmit}
      aria-label="Add a task"
      data-testid="new-task-form"
      className="space-y-3 rounded-lg border border-slate-200 bg-white p-4 shadow-sm"
    >
      {restored ? (
        <p role="status" data-testid="draft-restored" className="text-xs text-sky-800">
          We kept the task you were writing.
        </p>
      ) : null}
      <Field id="new-task-title" label="Title" error={errors.title} testId="new-task-title">
        {(props) => (
          <input
            {...props}
            ref={titleRef}
            type="text"
            name="title"
            maxLength={TITLE_MAX}
            placeholder="What needs doing?"
            autoComplete="off"
            className={inputClass}
            value={values.title}
            onChange={(event) => update("title", event.target.value)}
          />
        )}
      </Field>
      <Field id="new-task-description" label="Description (optional)" error={errors.description} testId="new-task-description">
        {(props) => (
          <textarea
            {...props}
            name="description"
            rows={2}
            maxLength={DESCRIPTION_MAX}
            placeholder="Details, links, notes…"
            className={inputClass}
            value={values.description}
            onChange={(event) => update("description", event.target.value)}
          />
        )}
      </Field>
      <div className="flex justify-end">
        <Button type="submit" disabled={!ready} data-testid="new-task-submit">
          Add task
        </Button>
      </div>
    </form>
  );
}
