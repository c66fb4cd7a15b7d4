import Link from "next/link";

export default function NotFound() {
  return (
    <main className="flex min-h-screen items-center justify-center px-4" data-testid="page-not-found">
      <div className="space-y-3 text-center">
        <p className="text-sm font-semibold text-indigo-600">404</p>
        <h1 className="text-2xl font-semibold text-slate-900">Page not found</h1>
        <p className="text-sm text-slate-600">There is nothing at this address.</p>
        <Link href="/tasks" className="inline-block text-sm font-medium text-indigo-600 underline">
          Go to my tasks
        </Link>
      </div>
    </main>
  );
}
