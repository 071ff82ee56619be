import { defineConfig } from 'tsup'

/**
 * The published build: ESM (`.js`) and CommonJS (`.cjs`) with their type declarations, for Node 18+.
 * Dependencies (the `@opentelemetry/*` packages) stay external; nothing else is imported at runtime
 * (the client packages are imported with `import type` only).
 */
export default defineConfig({
  entry: { index: 'src/index.ts', testing: 'src/testing.ts' },
  format: ['esm', 'cjs'],
  dts: true,
  target: 'node18',
  platform: 'node',
  outDir: 'dist',
  clean: true,
  sourcemap: true,
  // One shared chunk, so the main and testing entries share the SDK's module state.
  splitting: true,
  treeshake: true,
})
