import type { ApiClient } from "./client";
import type { components, paths } from "./schema";

type Schemas = components["schemas"];

export type Task = Schemas["TaskRead"];
export type TaskPage = Schemas["TaskPage"];
export type TaskCreate = Schemas["TaskCreate"];
export type TaskReplace = Schemas["TaskReplace"];
export type TaskPatch = Schemas["TaskPatch"];
export type TaskListQuery = NonNullable<paths["/api/{user_id}/tasks"]["get"]["parameters"]["query"]>;

/** Largest page the API serves (its `limit` maximum). */
export const MAX_PAGE_SIZE = 200;

function tasksPath(userId: string): string {
  return `/api/${encodeURIComponent(userId)}/tasks`;
}

function taskPath(userId: string, taskId: string): string {
  return `${tasksPath(userId)}/${encodeURIComponent(taskId)}`;
}

/** Typed calls of the task API, all through the central client. */
export function tasksApi(client: ApiClient) {
  return {
    list: (userId: string, query: TaskListQuery = {}, signal?: AbortSignal) =>
      client.get<TaskPage>(tasksPath(userId), { query, signal }),
    get: (userId: string, taskId: string, signal?: AbortSignal) =>
      client.get<Task>(taskPath(userId, taskId), { signal }),
    create: (userId: string, body: TaskCreate, signal?: AbortSignal) =>
      client.post<Task>(tasksPath(userId), body, { signal }),
    replace: (userId: string, taskId: string, body: TaskReplace, signal?: AbortSignal) =>
      client.put<Task>(taskPath(userId, taskId), body, { signal }),
    update: (userId: string, taskId: string, body: TaskPatch, signal?: AbortSignal) =>
      client.patch<Task>(taskPath(userId, taskId), body, { signal }),
    toggle: (userId: string, taskId: string, signal?: AbortSignal) =>
      client.patch<Task>(`${taskPath(userId, taskId)}/complete`, undefined, { signal }),
    remove: (userId: string, taskId: string, signal?: AbortSignal) =>
      client.delete(taskPath(userId, taskId), { signal }),
  };
}

export type TasksApi = ReturnType<typeof tasksApi>;
