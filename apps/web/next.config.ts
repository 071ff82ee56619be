import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { NextConfig } from 'next'

// The app lives in a pnpm workspace: tracing and Turbopack must see the repository root, where
// the hoisted dependencies and the sibling packages are.
const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..')

const nextConfig: NextConfig = {
  outputFileTracingRoot: repoRoot,
  turbopack: { root: repoRoot },
  poweredByHeader: false,
  reactStrictMode: true,
}

export default nextConfig
