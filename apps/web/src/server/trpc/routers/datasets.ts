import { DATASET_FORMATS, DatasetRepository, QualityError } from '@hindsight/quality'
import { TRPCError } from '@trpc/server'
import { z } from 'zod'
import { createTRPCRouter, projectProcedure } from '../trpc'

const datasetId = z.string().regex(/^[A-Za-z0-9_.:-]{1,128}$/, 'datasetId is not a dataset id')
const traceId = z.string().regex(/^[0-9a-f]{32}$/, 'trace ids are 32 lowercase hex characters')

/** Quality-layer refusals keep their meaning: bad input, unknown dataset, name taken. */
async function mapped<T>(work: Promise<T>): Promise<T> {
  try {
    return await work
  } catch (error) {
    if (!QualityError.isInstance(error)) throw error
    const code =
      error.code === 'not_found' ? 'NOT_FOUND' : error.code === 'conflict' ? 'CONFLICT' : 'BAD_REQUEST'
    throw new TRPCError({ code, message: error.message, cause: error })
  }
}

export const datasetsRouter = createTRPCRouter({
  /** Every dataset, most recently changed first, with its version and item count. */
  list: projectProcedure.query(({ ctx, input }) => DatasetRepository.for(ctx.storage).list(input.projectId)),

  /** The items of one version (default: the current one), with the dataset itself. */
  items: projectProcedure
    .input(z.object({ datasetId, version: z.number().int().min(0).optional() }))
    .query(async ({ ctx, input }) => {
      const repo = DatasetRepository.for(ctx.storage)
      const dataset = await repo.get(input.projectId, input.datasetId)
      if (!dataset)
        throw new TRPCError({ code: 'NOT_FOUND', message: `dataset ${input.datasetId} not found` })
      const snapshot = await mapped(repo.snapshot(input.projectId, input.datasetId, input.version))
      return { dataset, ...snapshot }
    }),

  /**
   * Adds traces to an existing dataset, or to a new one named `newName` (the trace list's
   * "Add to dataset"). Traces already in the dataset are skipped.
   */
  addTraces: projectProcedure
    .input(
      z
        .object({
          traceIds: z.array(traceId).min(1).max(1000),
          datasetId: datasetId.optional(),
          newName: z.string().trim().min(1).max(200).optional(),
        })
        .refine((v) => (v.datasetId === undefined) !== (v.newName === undefined), {
          message: 'give either datasetId or newName',
          path: ['datasetId'],
        }),
    )
    .mutation(async ({ ctx, input }) => {
      const repo = DatasetRepository.for(ctx.storage)
      const dataset = input.newName
        ? await mapped(repo.create(input.projectId, { name: input.newName }))
        : await repo.get(input.projectId, input.datasetId ?? '')
      if (!dataset)
        throw new TRPCError({ code: 'NOT_FOUND', message: `dataset ${input.datasetId} not found` })
      const change = await mapped(
        repo.addFromTraces(input.projectId, dataset.id, { traceIds: input.traceIds }),
      )
      return { dataset: { id: dataset.id, name: dataset.name }, ...change }
    }),

  /** A version as a JSONL or CSV file's text, for the page's download buttons. */
  export: projectProcedure
    .input(
      z.object({ datasetId, format: z.enum(DATASET_FORMATS), version: z.number().int().min(0).optional() }),
    )
    .mutation(({ ctx, input }) =>
      mapped(
        DatasetRepository.for(ctx.storage).exportFile(
          input.projectId,
          input.datasetId,
          input.format,
          input.version,
        ),
      ),
    ),
})
