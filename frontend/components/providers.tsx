"use client";

import { QueryClientProvider } from "@tanstack/react-query";
import { createContext, type ReactNode, use, useState } from "react";
import { Toaster } from "sonner";

import type { PublicConfig } from "@/lib/env";
import { createServices, type Services } from "@/lib/services";

import { OfflineBanner } from "./offline-banner";

const ServicesContext = createContext<Services | null>(null);

export function useServices(): Services {
  const services = use(ServicesContext);
  if (!services) throw new Error("useServices must be used inside <Providers>");
  return services;
}

/** Client-side services built from the configuration the server read at request time. */
export function Providers({ config, children }: { config: PublicConfig; children: ReactNode }) {
  const [services] = useState(() => createServices(config));
  return (
    <ServicesContext value={services}>
      <QueryClientProvider client={services.queryClient}>
        <OfflineBanner />
        {children}
        <Toaster position="top-center" richColors closeButton />
      </QueryClientProvider>
    </ServicesContext>
  );
}
