// What V8's GCProfiler saw over a stretch of a benchmark child's run, summed: the GC figures of the
// SDK ablation (sdk-ablation-child.ts) and of the interleaved blocks (sdk-child.ts, BENCH_GC_DETAIL).
import v8 from 'node:v8'

export interface GcFigures {
  scavenges: number
  /** Main-thread time of the scavenges (µs, the profiler's `cost`). */
  scavengeMicros: number
  /** Every other collection: mark-compacts (full collections) and incremental-marking steps. */
  markCompacts: number
  markCompactMicros: number
  /** Main-thread GC time (µs), all collections. */
  pauseMicros: number
  /** Bytes allocated over the stretch (what the heap gained plus what the collections freed). */
  allocatedBytes: number
  /** Bytes alive after each scavenge (left in the young generation or promoted), summed. */
  survivedBytes: number
  /** Old-generation bytes the scavenges added: objects that survived into the old generation. */
  promotedBytes: number
}

type GcStatistics = NonNullable<ReturnType<v8.GCProfiler['stop']>>['statistics']

function spaceUsed(list: GcStatistics[number]['afterGC']['heapSpaceStatistics'], name: string): number {
  return list.find((s) => s.spaceName === name)?.spaceUsedSize ?? 0
}

function gcFigures(stats: GcStatistics, startUsed: number, endUsed: number): GcFigures {
  const figures: GcFigures = {
    scavenges: 0,
    scavengeMicros: 0,
    markCompacts: 0,
    markCompactMicros: 0,
    pauseMicros: 0,
    allocatedBytes: 0,
    survivedBytes: 0,
    promotedBytes: 0,
  }
  let freed = 0
  for (const s of stats) {
    freed += s.beforeGC.heapStatistics.usedHeapSize - s.afterGC.heapStatistics.usedHeapSize
    figures.pauseMicros += s.cost
    if (s.gcType === 'Scavenge' || s.gcType === 'MinorMarkSweep') {
      figures.scavenges++
      figures.scavengeMicros += s.cost
      const promoted = Math.max(
        0,
        spaceUsed(s.afterGC.heapSpaceStatistics, 'old_space') -
          spaceUsed(s.beforeGC.heapSpaceStatistics, 'old_space'),
      )
      figures.promotedBytes += promoted
      figures.survivedBytes += spaceUsed(s.afterGC.heapSpaceStatistics, 'new_space') + promoted
    } else {
      figures.markCompacts++
      figures.markCompactMicros += s.cost
    }
  }
  // Everything allocated = what is in the heap at the end − at the start + what the GCs freed.
  figures.allocatedBytes = endUsed - startUsed + freed
  return figures
}

/** Starts profiling the collections; the returned function stops and sums them. */
export function startGcProfile(): () => GcFigures {
  const profiler = new v8.GCProfiler()
  profiler.start()
  const startUsed = v8.getHeapStatistics().used_heap_size
  return () => {
    const endUsed = v8.getHeapStatistics().used_heap_size
    return gcFigures(profiler.stop()?.statistics ?? [], startUsed, endUsed)
  }
}
