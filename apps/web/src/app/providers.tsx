'use client'
import { QueryClient, QueryClientProvider } from '@tanstack/react-query'
import { createTRPCClient, httpBatchLink } from '@trpc/client'
import { type ReactNode, useState } from 'react'
import { refreshInProgress, TimeAnchorProvider } from '../lib/time-anchor'
import { TRPCProvider } from '../lib/trpc'
import type { AppRouter } from '../server/trpc/router'

function makeQueryClient() {
  return new QueryClient({
    defaultOptions: {
      queries: {
        staleTime: 30_000,
        // A 4xx (bad input, unknown project or trace) will not fix itself by retrying.
        retry: (failures, error) => failures < 2 && !/^(BAD_REQUEST|NOT_FOUND)$/.test(errorCode(error)),
        refetchOnWindowFocus: false,
        // After a refresh (the ↻ button or auto-refresh), keep showing the previous data while
        // the moved range loads, instead of blanking every panel.
        placeholderData: (previous: unknown) => (refreshInProgress() ? previous : undefined),
      },
    },
  })
}

function errorCode(error: unknown): string {
  if (typeof error !== 'object' || error === null || !('data' in error)) return ''
  const data = (error as { data?: unknown }).data
  if (typeof data !== 'object' || data === null || !('code' in data)) return ''
  const code = (data as { code?: unknown }).code
  return typeof code === 'string' ? code : ''
}

export function Providers({ children }: { children: ReactNode }) {
  const [queryClient] = useState(makeQueryClient)
  const [trpcClient] = useState(() =>
    createTRPCClient<AppRouter>({
      // Same origin: the one server serves the pages and the API.
      links: [httpBatchLink({ url: '/api/trpc' })],
    }),
  )
  return (
    <QueryClientProvider client={queryClient}>
      <TRPCProvider trpcClient={trpcClient} queryClient={queryClient}>
        <TimeAnchorProvider>{children}</TimeAnchorProvider>
      </TRPCProvider>
    </QueryClientProvider>
  )
}
