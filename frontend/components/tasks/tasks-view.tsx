"use client";

import { useState } from "react";

import { AppHeader } from "@/components/app-header";
import { Alert, Button } from "@/components/ui";
import { isApiError } from "@/lib/api/errors";
import type { TaskFilter } from "@/lib/api/query";
import type { Task } from "@/lib/api/tasks";

import { DeleteDialog } from "./delete-dialog";
import { FilterBar } from "./filter-bar";
import { NewTaskForm } from "./new-task-form";
import { EmptyState, LoadError, NotFoundState, PermissionDenied, SessionEnding, TasksSkeleton } from "./states";
import { TaskItem } from "./task-item";
import { useDeleteTask, useTaskList } from "./use-tasks";

interface TasksViewProps {
  user: { id: string; email: string; name: string };
  /** Whose tasks to show: the signed-in user unless `?user=` names someone else. */
  ownerId: string;
  initialFilter: TaskFilter;
}

function replaceFilterInUrl(filter: TaskFilter): void {
  const url = new URL(window.location.href);
  if (filter === "all") url.searchParams.delete("filter");
  else url.searchParams.set("filter", filter);
  // Next keeps useSearchParams in sync with history.replaceState, without a server round trip.
  window.history.replaceState(null, "", `${url.pathname}${url.search}`);
}

export function TasksView({ user, ownerId, initialFilter }: TasksViewProps) {
  const [filter, setFilter] = useState<TaskFilter>(initialFilter);
  const [toDelete, setToDelete] = useState<Task | null>(null);
  const list = useTaskList(ownerId, filter);
  const remove = useDeleteTask(ownerId);

  const changeFilter = (next: TaskFilter) => {
    setFilter(next);
    replaceFilterInUrl(next);
  };

  const confirmDelete = (task: Task) => {
    setToDelete(null);
    remove.mutate({ taskId: task.id });
  };

  const error = list.error;
  const errorKind = isApiError(error) ? error.kind : null;
  // A list that loaded once stays visible when a background refetch fails.
  const blocking = error && !list.data;
  const tasks = list.data?.pages.flatMap((page) => page.items) ?? [];
  const total = list.data?.pages[0]?.total ?? 0;

  let body;
  if (errorKind === "forbidden") body = <PermissionDenied />;
  else if (errorKind === "not_found") body = <NotFoundState />;
  else if (errorKind === "unauthorized") body = <SessionEnding />;
  else if (blocking) {
    body = (
      <LoadError
        message={error.message}
        onRetry={() => void list.refetch()}
        retrying={list.isFetching}
      />
    );
  } else if (list.isPending) body = <TasksSkeleton />;
  else if (tasks.length === 0) body = <EmptyState filter={filter} />;
  else {
    body = (
      <>
        <ul className="space-y-2" data-testid="task-list" aria-label="Tasks">
          {tasks.map((task) => (
            <TaskItem key={task.id} task={task} ownerId={ownerId} onDelete={setToDelete} />
          ))}
        </ul>
        {list.hasNextPage ? (
          <div className="flex justify-center">
            <Button
              variant="secondary"
              onClick={() => void list.fetchNextPage()}
              disabled={list.isFetchingNextPage}
              data-testid="tasks-load-more"
            >
              {list.isFetchingNextPage ? "Loading…" : "Show more"}
            </Button>
          </div>
        ) : null}
      </>
    );
  }

  const forbidden = errorKind === "forbidden";
  return (
    <>
      <AppHeader email={user.email} name={user.name} />
      <main className="mx-auto max-w-3xl space-y-6 px-4 py-8" data-testid="tasks-page">
        <div className="flex flex-wrap items-end justify-between gap-3">
          <div>
            <h1 className="text-2xl font-semibold text-slate-900">{ownerId === user.id ? "My tasks" : "Tasks"}</h1>
            {list.data ? (
              <p className="text-sm text-slate-600" data-testid="tasks-total" aria-live="polite">
                {total === 1 ? "1 task" : `${total} tasks`}
              </p>
            ) : null}
          </div>
          {forbidden ? null : <FilterBar value={filter} onChange={changeFilter} />}
        </div>
        {ownerId !== user.id ? (
          <Alert tone="info" testId="viewing-other-user">
            You are looking at the list of user <code className="font-mono">{ownerId}</code>.
          </Alert>
        ) : null}
        {forbidden ? null : <NewTaskForm ownerId={ownerId} />}
        <section aria-label="Task list" className="space-y-3">
          {body}
        </section>
      </main>
      <DeleteDialog task={toDelete} onConfirm={confirmDelete} onClose={() => setToDelete(null)} />
    </>
  );
}
