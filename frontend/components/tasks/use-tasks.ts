"use client";

import { useInfiniteQuery, useMutation, useQueryClient } from "@tanstack/react-query";
import { toast } from "sonner";

import { useServices } from "@/components/providers";
import { type ApiError, isApiError } from "@/lib/api/errors";
import { completedParam, type TaskFilter, taskKeys } from "@/lib/api/query";
import {
  changeTask,
  insertTask,
  type ListSnapshot,
  type ListUpdate,
  removeTask,
  restoreLists,
  updateLists,
} from "@/lib/api/task-cache";
import type { Task, TaskPatch } from "@/lib/api/tasks";

export const PAGE_SIZE = 50;
export const OPTIMISTIC_PREFIX = "optimistic-";

export function isOptimistic(task: Task): boolean {
  return task.id.startsWith(OPTIMISTIC_PREFIX);
}

export function useTaskList(ownerId: string, filter: TaskFilter) {
  const { tasks } = useServices();
  return useInfiniteQuery({
    queryKey: taskKeys.list(ownerId, filter),
    queryFn: ({ pageParam, signal }) =>
      tasks.list(ownerId, { completed: completedParam(filter), limit: PAGE_SIZE, offset: pageParam }, signal),
    initialPageParam: 0,
    getNextPageParam: (last) => {
      const next = last.offset + last.items.length;
      return last.items.length > 0 && next < last.total ? next : undefined;
    },
  });
}

/** Toast for a failed write; a 401 has its own flow (redirect to /login). */
export function reportMutationError(error: unknown, action: string): void {
  if (!isApiError(error)) {
    toast.error(`Could not ${action}.`, { testId: "toast-error" });
    return;
  }
  switch (error.kind) {
    case "unauthorized":
      return;
    case "forbidden":
      toast.error(`You don't have permission to ${action}.`, { testId: "toast-forbidden" });
      return;
    case "not_found":
      toast.error("This task no longer exists.", { testId: "toast-not-found" });
      return;
    default:
      toast.error(`Could not ${action}: ${error.message}`, { testId: "toast-error" });
  }
}

interface OptimisticOptions<TVariables, TResult> {
  ownerId: string;
  run: (variables: TVariables) => Promise<TResult>;
  optimistic: (variables: TVariables) => ListUpdate;
  confirmed?: (result: TResult, variables: TVariables) => ListUpdate;
  action: string;
}

/** A write shown at once in every cached list, rolled back if the API refuses it. */
function useOptimisticMutation<TVariables, TResult>(options: OptimisticOptions<TVariables, TResult>) {
  const queryClient = useQueryClient();
  const { ownerId } = options;
  const mutationKey = taskKeys.forUser(ownerId);
  return useMutation<TResult, ApiError | Error, TVariables, { snapshot: ListSnapshot }>({
    mutationKey,
    mutationFn: (variables) => options.run(variables),
    onMutate: async (variables) => {
      // In-flight fetches would overwrite the optimistic state with stale data.
      await queryClient.cancelQueries({ queryKey: taskKeys.forUser(ownerId) });
      return { snapshot: updateLists(queryClient, ownerId, options.optimistic(variables)) };
    },
    onError: (error, _variables, context) => {
      if (context) restoreLists(queryClient, context.snapshot);
      if (!(isApiError(error) && error.kind === "validation")) reportMutationError(error, options.action);
    },
    onSuccess: (result, variables) => {
      if (options.confirmed) updateLists(queryClient, ownerId, options.confirmed(result, variables));
    },
    // Refetch once the last concurrent write has settled: a list fetched while other writes
    // are still in flight can miss them and would then stand as the final state.
    onSettled: () =>
      queryClient.isMutating({ mutationKey }) === 1
        ? queryClient.invalidateQueries({ queryKey: taskKeys.forUser(ownerId) })
        : undefined,
  });
}

export interface NewTask {
  title: string;
  description: string;
  /** Id of the placeholder shown until the API answers. */
  tempId: string;
}

/** `onCreated` runs as soon as the API confirms, before the list shows the task as saved. */
export function useCreateTask(ownerId: string, onCreated?: (variables: NewTask) => void) {
  const { tasks } = useServices();
  return useOptimisticMutation<NewTask, Task>({
    ownerId,
    action: "add the task",
    run: ({ title, description }) => tasks.create(ownerId, { title, description, completed: false }),
    optimistic: ({ title, description, tempId }) => {
      const now = new Date().toISOString();
      return insertTask({
        id: tempId,
        user_id: ownerId,
        title,
        description,
        completed: false,
        created_at: now,
        updated_at: now,
      });
    },
    confirmed: (task, variables) => {
      onCreated?.(variables);
      return changeTask(variables.tempId, () => task);
    },
  });
}

export function useUpdateTask(ownerId: string) {
  const { tasks } = useServices();
  return useOptimisticMutation<{ taskId: string; patch: TaskPatch }, Task>({
    ownerId,
    action: "save the task",
    run: ({ taskId, patch }) => tasks.update(ownerId, taskId, patch),
    optimistic: ({ taskId, patch }) => changeTask(taskId, (task) => ({ ...task, ...patch })),
    confirmed: (task) => changeTask(task.id, () => task),
  });
}

export function useToggleTask(ownerId: string) {
  const { tasks } = useServices();
  return useOptimisticMutation<{ taskId: string }, Task>({
    ownerId,
    action: "update the task",
    run: ({ taskId }) => tasks.toggle(ownerId, taskId),
    optimistic: ({ taskId }) => changeTask(taskId, (task) => ({ ...task, completed: !task.completed })),
    confirmed: (task) => changeTask(task.id, () => task),
  });
}

export function useDeleteTask(ownerId: string) {
  const { tasks } = useServices();
  return useOptimisticMutation<{ taskId: string }, void>({
    ownerId,
    action: "delete the task",
    run: ({ taskId }) => tasks.remove(ownerId, taskId),
    optimistic: ({ taskId }) => removeTask(taskId),
  });
}
