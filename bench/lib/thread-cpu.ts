// CPU time per thread of this process, grouped by thread name (Linux `/proc/self/task/*/stat`):
// where the collector's CPU goes during the load — the JS main thread, libuv workers (chDB's async
// inserts and queries run there), the engine's merge and query pools, V8's GC helpers. Threads
// that exit between two snapshots take their time with them; the difference to the process total
// is reported as `exited threads`.
import { readdirSync, readFileSync } from 'node:fs'

const TICKS_PER_SECOND = 100

export type ThreadCpu = Map<string, number>

/** Per thread id: name and CPU seconds (user + system); empty where /proc is not available. */
function threads(): Map<string, { name: string; seconds: number }> {
  const out = new Map<string, { name: string; seconds: number }>()
  let tids: string[]
  try {
    tids = readdirSync('/proc/self/task')
  } catch {
    return out
  }
  for (const tid of tids) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8')
      const open = stat.indexOf('(')
      const close = stat.lastIndexOf(')')
      const name = stat.slice(open + 1, close)
      const fields = stat.slice(close + 2).split(' ')
      // fields[0] is field 3 (state): utime is field 14, stime field 15.
      const seconds = (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND
      out.set(tid, { name, seconds })
    } catch {
      // the thread exited while we read
    }
  }
  return out
}

export interface ThreadSnapshot {
  byThread: Map<string, { name: string; seconds: number }>
}

export function snapshotThreads(): ThreadSnapshot {
  return { byThread: threads() }
}

/** CPU seconds per thread-name group between two snapshots (threads new since `from` count whole). */
export function threadCpuSince(from: ThreadSnapshot): ThreadCpu {
  const groups: ThreadCpu = new Map()
  for (const [tid, now] of threads()) {
    const before = from.byThread.get(tid)
    const used = now.seconds - (before && before.name === now.name ? before.seconds : 0)
    if (used <= 0) continue
    const group = now.name.replace(/[\d:]+$/, '').trim() || now.name
    groups.set(group, (groups.get(group) ?? 0) + used)
  }
  return groups
}
