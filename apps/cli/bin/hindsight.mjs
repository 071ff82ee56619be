#!/usr/bin/env node
// The `hindsight` command. Sources are TypeScript, run through tsx's loader.
import { register } from 'tsx/esm/api'

register()
await import('../src/main.ts')
