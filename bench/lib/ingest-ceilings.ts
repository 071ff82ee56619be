// The two ceilings of the ingest benchmark, measured on the same payloads and rows as the load:
// the decode rate (decode + validate + limit + map + serialize, one core, no I/O) and the engine's
// own insert rate for the same rows (pre-serialized JSONEachRow bytes, chDB's raw insert, warm).
import {
  chdbRawInsert,
  IngestPipeline,
  ingestBuffers,
  type SpanWriter,
  splitLines,
} from '@hindsight/collector'
import type { Storage } from '@hindsight/collector/storage'

export interface CeilingResult {
  spans_per_s: number
  /** Process CPU (all threads, the engine's included) per span, in µs. */
  cpu_us_per_span: number
  spans: number
  seconds: number
}

/**
 * A writer that keeps nothing (or, for the warm-up pass, everything): only what the pipeline does
 * before the writer is measured. Like the real writer once rows are stored, it gives the rows'
 * Buffer back to the ingest pool.
 */
function sinkWriter(keep: Buffer[] | null): SpanWriter {
  const sink = {
    durable: false,
    admit: () => 'ok' as const,
    throttle: () => Promise.resolve(),
    accept: (body: Buffer) => {
      if (keep) keep.push(body)
      else ingestBuffers.release(body)
      return Promise.resolve()
    },
  }
  return sink as unknown as SpanWriter
}

/**
 * Decode rate: every payload through the collector's pipeline (decode, validate, limit, map,
 * serialize) into a writer that drops the bytes, for about `seconds` after one warm-up pass.
 * Returns the JSONEachRow bodies of the warm-up pass too (the rows of the engine ceiling).
 */
export async function decodeCeiling(
  payloads: readonly Buffer[],
  seconds: number,
): Promise<CeilingResult & { bodies: Buffer[] }> {
  const bodies: Buffer[] = []
  const projects = { authenticate: async () => 'bench' }
  const warm = new IngestPipeline({ projects, writer: sinkWriter(bodies), onError: () => {} })
  for (const p of payloads) await warm.ingest('bench', warm.decode(p, 'protobuf'))
  const pipeline = new IngestPipeline({ projects, writer: sinkWriter(null), onError: () => {} })
  let spans = 0
  const t0 = performance.now()
  const cpu0 = process.cpuUsage()
  while (performance.now() - t0 < seconds * 1000) {
    for (const p of payloads) {
      const r = await pipeline.ingest('bench', pipeline.decode(p, 'protobuf'))
      spans += r.accepted
    }
  }
  const cpu = process.cpuUsage(cpu0)
  // CPU time of this thread's work (GC included); close to wall time on an idle core.
  const used = Math.max((cpu.user + cpu.system) / 1e6, (performance.now() - t0) / 1000 / 2)
  return {
    spans_per_s: spans / used,
    cpu_us_per_span: ((cpu.user + cpu.system) / spans) | 0,
    spans,
    seconds: used,
    bodies,
  }
}

/**
 * The engine's insert rate for the same rows: `bodies` regrouped into batches of `batchRows`,
 * inserted one after the other with the insert `settings` into a copy of `spans` (one warm-up
 * batch first), for about `seconds`. The copy is dropped afterwards.
 */
export async function insertCeiling(
  storage: Storage,
  bodies: readonly Buffer[],
  batchRows: number,
  seconds: number,
  settings: Readonly<Record<string, number>> = {},
): Promise<CeilingResult> {
  const insert = chdbRawInsert(storage)
  if (!insert) throw new Error('the storage is not embedded chDB')
  const table = `${storage.database}.spans_ceiling`
  await storage.client.command({ query: `DROP TABLE IF EXISTS ${table}` })
  await storage.client.command({ query: `CREATE TABLE ${table} AS ${storage.database}.spans` })
  const lines = bodies.flatMap(splitLines)
  const batches: { body: Buffer; rows: number }[] = []
  for (let i = 0; i < lines.length; i += batchRows) {
    const part = lines.slice(i, i + batchRows)
    batches.push({ body: Buffer.concat(part), rows: part.length })
  }
  const first = batches[0]
  if (!first) throw new Error('no rows')
  await insert(table, first.body, settings)
  let rows = 0
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  while (performance.now() - t0 < seconds * 1000) {
    for (const b of batches) {
      await insert(table, b.body, settings)
      rows += b.rows
    }
  }
  const elapsed = (performance.now() - t0) / 1000
  const cpu = process.cpuUsage(cpu0)
  await storage.client.command({ query: `DROP TABLE IF EXISTS ${table}` })
  return {
    spans_per_s: rows / elapsed,
    cpu_us_per_span: ((cpu.user + cpu.system) / rows) | 0,
    spans: rows,
    seconds: elapsed,
  }
}
