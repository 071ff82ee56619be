'use client'
import type { inferRouterOutputs } from '@trpc/server'
/** The typed tRPC hooks the pages use. Only the router's type crosses into the browser bundle. */
import { createTRPCContext } from '@trpc/tanstack-react-query'
import type { AppRouter } from '../server/trpc/router'

export const { TRPCProvider, useTRPC, useTRPCClient } = createTRPCContext<AppRouter>()

export type RouterOutputs = inferRouterOutputs<AppRouter>
