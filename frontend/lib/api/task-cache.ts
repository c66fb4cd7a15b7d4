import type { InfiniteData, QueryClient, QueryKey } from "@tanstack/react-query";

import { type TaskFilter, taskKeys } from "./query";
import type { Task, TaskPage } from "./tasks";

export type TaskListData = InfiniteData<TaskPage, number>;

/** How one cached list (for one filter) changes. */
export type ListUpdate = (data: TaskListData, filter: TaskFilter) => TaskListData;

export function matchesFilter(task: Task, filter: TaskFilter): boolean {
  if (filter === "all") return true;
  return filter === "completed" ? task.completed : !task.completed;
}

function withTotalDelta(data: TaskListData, delta: number): TaskListData {
  if (delta === 0) return data;
  return { ...data, pages: data.pages.map((page) => ({ ...page, total: Math.max(0, page.total + delta) })) };
}

/** Newest first, as the API orders them. */
export function insertTask(task: Task): ListUpdate {
  return (data, filter) => {
    const [first, ...rest] = data.pages;
    if (!first || !matchesFilter(task, filter)) return data;
    return withTotalDelta({ ...data, pages: [{ ...first, items: [task, ...first.items] }, ...rest] }, 1);
  };
}

/** Changes one task and drops it from lists whose filter it no longer matches. */
export function changeTask(taskId: string, change: (task: Task) => Task): ListUpdate {
  return (data, filter) => {
    let removed = 0;
    const pages = data.pages.map((page) => ({
      ...page,
      items: page.items.flatMap((task) => {
        if (task.id !== taskId) return [task];
        const changed = change(task);
        if (matchesFilter(changed, filter)) return [changed];
        removed += 1;
        return [];
      }),
    }));
    return withTotalDelta({ ...data, pages }, -removed);
  };
}

export function removeTask(taskId: string): ListUpdate {
  return (data) => {
    let removed = 0;
    const pages = data.pages.map((page) => ({
      ...page,
      items: page.items.filter((task) => {
        if (task.id !== taskId) return true;
        removed += 1;
        return false;
      }),
    }));
    return withTotalDelta({ ...data, pages }, -removed);
  };
}

export type ListSnapshot = [QueryKey, TaskListData | undefined][];

function filterOf(key: QueryKey): TaskFilter {
  const filter = key[3];
  return filter === "active" || filter === "completed" ? filter : "all";
}

function listsOf(queryClient: QueryClient, ownerId: string): ListSnapshot {
  return queryClient
    .getQueriesData<TaskListData>({ queryKey: taskKeys.forUser(ownerId) })
    .filter(([key]) => key[2] === "list");
}

/** Applies `update` to every cached list of `ownerId`; returns what to restore on failure. */
export function updateLists(queryClient: QueryClient, ownerId: string, update: ListUpdate): ListSnapshot {
  const snapshot = listsOf(queryClient, ownerId);
  for (const [key, data] of snapshot) {
    if (data) queryClient.setQueryData<TaskListData>(key, update(data, filterOf(key)));
  }
  return snapshot;
}

export function restoreLists(queryClient: QueryClient, snapshot: ListSnapshot): void {
  for (const [key, data] of snapshot) queryClient.setQueryData(key, data);
}
