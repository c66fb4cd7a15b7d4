import type { Metadata } from "next";
import { headers } from "next/headers";
import type { ReactNode } from "react";

import { Providers } from "@/components/providers";
import { publicConfig } from "@/lib/env";
import { requestOrigin } from "@/lib/session";

import "./globals.css";

export const metadata: Metadata = {
  title: { default: "Tasks", template: "%s · Tasks" },
  description: "A small task list",
};

export default async function RootLayout({ children }: { children: ReactNode }) {
  // Reading the request makes every page dynamic: the API URL is run-time configuration.
  const config = publicConfig(requestOrigin(await headers()));
  return (
    <html lang="en">
      <body className="min-h-screen font-sans">
        <Providers config={config}>{children}</Providers>
      </body>
    </html>
  );
}
