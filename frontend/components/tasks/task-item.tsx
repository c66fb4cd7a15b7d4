"use client";

import { type FormEvent, type KeyboardEvent, useState } from "react";

import { Button, cx, Field, inputClass } from "@/components/ui";
import { isApiError } from "@/lib/api/errors";
import type { Task } from "@/lib/api/tasks";
import { DESCRIPTION_MAX, type FieldErrors, TITLE_MAX, taskSchema, validate } from "@/lib/validation";

import { isOptimistic, useToggleTask, useUpdateTask } from "./use-tasks";

type EditValues = { title: string; description: string };

interface TaskItemProps {
  task: Task;
  ownerId: string;
  onDelete: (task: Task) => void;
}

interface EditState {
  values: EditValues;
  errors: FieldErrors<EditValues>;
}

export function TaskItem({ task, ownerId, onDelete }: TaskItemProps) {
  const toggle = useToggleTask(ownerId);
  const update = useUpdateTask(ownerId);
  const [edit, setEdit] = useState<EditState | null>(null);
  // The cache update lands a tick after the click; the checkbox must follow the click at once.
  const [clickedCompleted, setClickedCompleted] = useState<boolean | null>(null);
  const completed = clickedCompleted ?? task.completed;
  const pending = isOptimistic(task);

  const toggleCompleted = () => {
    setClickedCompleted(!completed);
    toggle.mutate({ taskId: task.id }, { onSettled: () => setClickedCompleted(null) });
  };

  const startEditing = () => setEdit({ values: { title: task.title, description: task.description }, errors: {} });

  // Closes the editor at once (optimistic); a refusal with field errors reopens it.
  const save = (values: EditValues) => {
    setEdit(null);
    if (values.title === task.title && values.description === task.description) return;
    update.mutate(
      { taskId: task.id, patch: values },
      {
        onError: (error) => {
          if (isApiError(error) && error.kind === "validation") {
            setEdit({ values, errors: { title: error.fields.title, description: error.fields.description } });
          }
        },
      },
    );
  };

  return (
    <li
      data-testid="task-item"
      data-task-id={task.id}
      data-completed={completed ? "true" : "false"}
      data-pending={pending ? "true" : undefined}
      className={cx("rounded-lg border border-slate-200 bg-white p-4 shadow-xs", pending && "opacity-60")}
    >
      {edit ? (
        <EditTask task={task} initial={edit} onSave={save} onCancel={() => setEdit(null)} />
      ) : (
        <div className="flex items-start gap-3">
          <input
            type="checkbox"
            className="mt-1 size-4 shrink-0 accent-indigo-600"
            checked={completed}
            disabled={pending}
            onChange={toggleCompleted}
            aria-label={completed ? `Mark "${task.title}" as not done` : `Mark "${task.title}" as done`}
            data-testid="task-toggle"
          />
          <div className="min-w-0 flex-1">
            <p
              data-testid="task-title"
              className={cx("text-sm font-medium break-words", completed ? "text-slate-400 line-through" : "text-slate-900")}
            >
              {task.title}
            </p>
            {task.description ? (
              <p data-testid="task-description" className="mt-1 text-sm break-words whitespace-pre-line text-slate-600">
                {task.description}
              </p>
            ) : null}
          </div>
          <div className="flex shrink-0 gap-1">
            <Button
              variant="ghost"
              disabled={pending}
              onClick={startEditing}
              aria-label={`Edit "${task.title}"`}
              data-testid="task-edit"
            >
              Edit
            </Button>
            <Button
              variant="ghost"
              className="text-rose-600 hover:bg-rose-50 hover:text-rose-700"
              disabled={pending}
              onClick={() => onDelete(task)}
              aria-label={`Delete "${task.title}"`}
              data-testid="task-delete"
            >
              Delete
            </Button>
          </div>
        </div>
      )}
    </li>
  );
}

interface EditTaskProps {
  task: Task;
  initial: EditState;
  onSave: (values: EditValues) => void;
  onCancel: () => void;
}

function EditTask({ task, initial, onSave, onCancel }: EditTaskProps) {
  const [values, setValues] = useState<EditValues>(initial.values);
  const [errors, setErrors] = useState<FieldErrors<EditValues>>(initial.errors);
  const fieldId = (name: string) => `task-${task.id}-${name}`;

  const save = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const parsed = validate(taskSchema, values);
    if (parsed.ok) onSave(parsed.data);
    else setErrors(parsed.errors);
  };

  const onKeyDown = (event: KeyboardEvent) => {
    if (event.key === "Escape") {
      event.preventDefault();
      onCancel();
    }
  };

  return (
    <form noValidate onSubmit={save} onKeyDown={onKeyDown} aria-label={`Edit "${task.title}"`} className="space-y-3">
      <Field id={fieldId("title")} label="Title" error={errors.title} testId="task-edit-title">
        {(props) => (
          <input
            {...props}
            type="text"
            autoFocus
            maxLength={TITLE_MAX}
            className={inputClass}
            value={values.title}
            onChange={(event) => setValues((current) => ({ ...current, title: event.target.value }))}
          />
        )}
      </Field>
      <Field id={fieldId("description")} label="Description" error={errors.description} testId="task-edit-description">
        {(props) => (
          <textarea
            {...props}
            rows={2}
            maxLength={DESCRIPTION_MAX}
            className={inputClass}
            value={values.description}
            onChange={(event) => setValues((current) => ({ ...current, description: event.target.value }))}
          />
        )}
      </Field>
      <div className="flex justify-end gap-2">
        <Button variant="secondary" onClick={onCancel} data-testid="task-edit-cancel">
          Cancel
        </Button>
        <Button type="submit" data-testid="task-edit-save">
          Save
        </Button>
      </div>
    </form>
  );
}
