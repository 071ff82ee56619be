import { type DatasetItemInput, DatasetRepository, type JsonValue, QualityError } from '@hindsight/quality'
import { createRoute, z } from '@hono/zod-openapi'
import { BEARER, type PublicApiApp, type PublicApiDeps, resolveRange } from './context'
import { ERROR_RESPONSES, errorBody, jsonResponse } from './errors'
import {
  CONFLICT_RESPONSE,
  DatasetBodySchema,
  DatasetChangeSchema,
  DatasetItemBodySchema,
  DatasetItemParams,
  DatasetItemPatchSchema,
  DatasetParams,
  DatasetSchema,
  DatasetSnapshotSchema,
  FormatQuery,
  FromTracesBodySchema,
  NOT_FOUND_RESPONSE,
  VersionQuery,
} from './quality-schemas'

/** Import files larger than this are refused (the parsed items must fit in memory). */
export const MAX_IMPORT_BYTES = 10 * 1024 * 1024

const FILE_TYPES = { jsonl: 'application/x-ndjson; charset=utf-8', csv: 'text/csv; charset=utf-8' } as const

const tags = ['datasets']

const list = createRoute({
  method: 'get',
  path: '/datasets',
  tags,
  summary: 'Datasets of the project',
  security: [BEARER],
  responses: {
    200: {
      description: 'Every dataset, most recently changed first.',
      content: {
        'application/json': { schema: z.object({ data: z.array(DatasetSchema) }).openapi('DatasetList') },
      },
    },
    ...ERROR_RESPONSES,
  },
})

const create = createRoute({
  method: 'post',
  path: '/datasets',
  tags,
  summary: 'Create a dataset (version 0, no items)',
  security: [BEARER],
  request: { body: { content: { 'application/json': { schema: DatasetBodySchema } }, required: true } },
  responses: {
    201: jsonResponse(DatasetSchema, 'The new dataset.'),
    ...CONFLICT_RESPONSE,
    ...ERROR_RESPONSES,
  },
})

const getOne = createRoute({
  method: 'get',
  path: '/datasets/{datasetId}',
  tags,
  summary: 'One dataset',
  security: [BEARER],
  request: { params: DatasetParams },
  responses: {
    200: jsonResponse(DatasetSchema, 'The dataset.'),
    ...NOT_FOUND_RESPONSE,
    ...ERROR_RESPONSES,
  },
})

const items = createRoute({
  method: 'get',
  path: '/datasets/{datasetId}/items',
  tags,
  summary: 'The items of a dataset version',
  description: 'A version is immutable: the same `version` always returns the same items.',
  security: [BEARER],
  request: { params: DatasetParams, query: VersionQuery },
  responses: {
    200: jsonResponse(DatasetSnapshotSchema, 'The snapshot.'),
    ...NOT_FOUND_RESPONSE,
    ...ERROR_RESPONSES,
  },
})

const changeResponses = {
  200: jsonResponse(DatasetChangeSchema, 'The change and the version it created.'),
  ...NOT_FOUND_RESPONSE,
  ...ERROR_RESPONSES,
}

const addItems = createRoute({
  method: 'post',
  path: '/datasets/{datasetId}/items',
  tags,
  summary: 'Add items (one new version)',
  description: 'An item with the id of an existing item replaces it.',
  security: [BEARER],
  request: {
    params: DatasetParams,
    body: {
      content: {
        'application/json': {
          schema: z
            .object({ items: z.array(DatasetItemBodySchema).min(1).max(10_000) })
            .openapi('DatasetItemsInput'),
        },
      },
      required: true,
    },
  },
  responses: changeResponses,
})

const updateItem = createRoute({
  method: 'patch',
  path: '/datasets/{datasetId}/items/{itemId}',
  tags,
  summary: "Change an item's input, expected output or metadata (one new version)",
  security: [BEARER],
  request: {
    params: DatasetItemParams,
    body: { content: { 'application/json': { schema: DatasetItemPatchSchema } }, required: true },
  },
  responses: changeResponses,
})

const deleteItem = createRoute({
  method: 'delete',
  path: '/datasets/{datasetId}/items/{itemId}',
  tags,
  summary: 'Remove an item (one new version; older versions keep it)',
  security: [BEARER],
  request: { params: DatasetItemParams },
  responses: changeResponses,
})

const fromTraces = createRoute({
  method: 'post',
  path: '/datasets/{datasetId}/items/from-traces',
  tags,
  summary: 'Add production traces as items (one new version)',
  description:
    'Select traces by id, or by the trace list filters (newest first, up to `limit`). Each becomes an ' +
    "item: input = the root span's input (else the first span's that has one), recorded output = the " +
    "root span's output (else the last span's); no expected output. Traces already in the dataset are skipped.",
  security: [BEARER],
  request: {
    params: DatasetParams,
    body: { content: { 'application/json': { schema: FromTracesBodySchema } }, required: true },
  },
  responses: changeResponses,
})

const importFile = createRoute({
  method: 'post',
  path: '/datasets/{datasetId}/import',
  tags,
  summary: 'Import items from JSONL or CSV (one new version)',
  description:
    'JSONL: one `{ input, expected_output?, metadata?, id? }` object per line. CSV: a header naming ' +
    '`input` and optionally `expected_output`, `metadata`, `id`; cells holding a JSON object or array are ' +
    `parsed, other cells stay strings. At most ${MAX_IMPORT_BYTES / 1024 / 1024} MB.`,
  security: [BEARER],
  request: {
    params: DatasetParams,
    query: FormatQuery,
    body: {
      content: {
        'application/x-ndjson': { schema: z.string() },
        'text/csv': { schema: z.string() },
        'text/plain': { schema: z.string() },
      },
      required: true,
    },
  },
  responses: changeResponses,
})

const exportFile = createRoute({
  method: 'get',
  path: '/datasets/{datasetId}/export',
  tags,
  summary: 'Export a dataset version as JSONL or CSV',
  description:
    'Columns: id, input, expected_output, recorded_output, metadata, source_trace_id. The version is in ' +
    'the `x-dataset-version` header.',
  security: [BEARER],
  request: { params: DatasetParams, query: FormatQuery.extend(VersionQuery.shape) },
  responses: {
    200: {
      description: 'The file.',
      content: { 'application/x-ndjson': { schema: z.string() }, 'text/csv': { schema: z.string() } },
    },
    ...NOT_FOUND_RESPONSE,
    ...ERROR_RESPONSES,
  },
})

/** Request bodies are parsed JSON, so every value in them is a JSON value. */
function asJson(value: unknown): JsonValue {
  return value === undefined ? null : (value as JsonValue)
}

function asJsonRecord(value: Record<string, unknown> | undefined): { [key: string]: JsonValue } | undefined {
  return value === undefined ? undefined : (value as { [key: string]: JsonValue })
}

type Refusal =
  | { status: 400; body: ReturnType<typeof errorBody<'bad_request'>> }
  | { status: 404; body: ReturnType<typeof errorBody<'not_found'>> }
  | { status: 409; body: { error: { code: 'conflict'; message: string } } }

/** A quality-layer refusal as a status and body; any other error is re-thrown (the API's 500). */
function refusal(error: unknown): Refusal {
  if (!QualityError.isInstance(error)) throw error
  if (error.code === 'not_found') return { status: 404, body: errorBody('not_found', error.message) }
  if (error.code === 'conflict')
    return { status: 409, body: { error: { code: 'conflict', message: error.message } } }
  return { status: 400, body: errorBody('bad_request', error.message) }
}

export function registerDatasetRoutes(app: PublicApiApp, deps: PublicApiDeps): void {
  const datasets = DatasetRepository.for(deps.storage)

  app.openapi(list, async (c) => c.json({ data: await datasets.list(c.get('projectId')) }, 200))

  app.openapi(create, async (c) => {
    const body = c.req.valid('json')
    try {
      const dataset = await datasets.create(c.get('projectId'), {
        name: body.name,
        ...(body.description !== undefined ? { description: body.description } : {}),
      })
      return c.json(dataset, 201)
    } catch (error) {
      const r = refusal(error)
      return r.status === 409
        ? c.json(r.body, 409)
        : c.json(errorBody('bad_request', r.body.error.message), 400)
    }
  })

  app.openapi(getOne, async (c) => {
    const { datasetId } = c.req.valid('param')
    const dataset = await datasets.get(c.get('projectId'), datasetId)
    if (!dataset) return c.json(errorBody('not_found', `dataset ${datasetId} not found`), 404)
    return c.json(dataset, 200)
  })

  app.openapi(items, async (c) => {
    const { datasetId } = c.req.valid('param')
    const { version } = c.req.valid('query')
    try {
      return c.json(await datasets.snapshot(c.get('projectId'), datasetId, version), 200)
    } catch (error) {
      const r = refusal(error)
      return r.status === 404
        ? c.json(r.body, 404)
        : c.json(errorBody('bad_request', r.body.error.message), 400)
    }
  })

  app.openapi(addItems, async (c) => {
    const { datasetId } = c.req.valid('param')
    const body = c.req.valid('json')
    const inputs: DatasetItemInput[] = body.items.map((item) => ({
      ...(item.id !== undefined ? { id: item.id } : {}),
      input: asJson(item.input),
      ...(item.expected_output !== undefined ? { expectedOutput: asJson(item.expected_output) } : {}),
      ...(item.metadata !== undefined ? { metadata: asJsonRecord(item.metadata) } : {}),
    }))
    try {
      return c.json(await datasets.addItems(c.get('projectId'), datasetId, inputs), 200)
    } catch (error) {
      const r = refusal(error)
      return r.status === 404
        ? c.json(r.body, 404)
        : c.json(errorBody('bad_request', r.body.error.message), 400)
    }
  })

  app.openapi(updateItem, async (c) => {
    const { datasetId, itemId } = c.req.valid('param')
    const body = c.req.valid('json')
    try {
      const result = await datasets.updateItem(c.get('projectId'), datasetId, itemId, {
        ...(body.input !== undefined ? { input: asJson(body.input) } : {}),
        ...(body.expected_output !== undefined ? { expectedOutput: asJson(body.expected_output) } : {}),
        ...(body.metadata !== undefined ? { metadata: asJsonRecord(body.metadata) } : {}),
      })
      return c.json(result, 200)
    } catch (error) {
      const r = refusal(error)
      return r.status === 404
        ? c.json(r.body, 404)
        : c.json(errorBody('bad_request', r.body.error.message), 400)
    }
  })

  app.openapi(deleteItem, async (c) => {
    const { datasetId, itemId } = c.req.valid('param')
    try {
      return c.json(await datasets.deleteItem(c.get('projectId'), datasetId, itemId), 200)
    } catch (error) {
      const r = refusal(error)
      return r.status === 404
        ? c.json(r.body, 404)
        : c.json(errorBody('bad_request', r.body.error.message), 400)
    }
  })

  app.openapi(fromTraces, async (c) => {
    const { datasetId } = c.req.valid('param')
    const body = c.req.valid('json')
    let selection: Parameters<DatasetRepository['addFromTraces']>[2]
    if (body.traceIds) {
      selection = { traceIds: body.traceIds }
    } else {
      const range = resolveRange(body)
      if (typeof range === 'string') return c.json(errorBody('bad_request', range), 400)
      selection = {
        ...range,
        filter: {
          ...(body.model ? { model: body.model } : {}),
          ...(body.provider ? { provider: body.provider } : {}),
          ...(body.release ? { release: body.release } : {}),
          ...(body.name ? { name: body.name } : {}),
          ...(body.status ? { status: body.status } : {}),
        },
        ...(body.limit ? { limit: body.limit } : {}),
      }
    }
    try {
      return c.json(await datasets.addFromTraces(c.get('projectId'), datasetId, selection), 200)
    } catch (error) {
      const r = refusal(error)
      return r.status === 404
        ? c.json(r.body, 404)
        : c.json(errorBody('bad_request', r.body.error.message), 400)
    }
  })

  app.openapi(importFile, async (c) => {
    const { datasetId } = c.req.valid('param')
    const { format } = c.req.valid('query')
    const length = Number(c.req.header('content-length') ?? '0')
    if (length > MAX_IMPORT_BYTES) {
      return c.json(errorBody('bad_request', `file: at most ${MAX_IMPORT_BYTES} bytes`), 400)
    }
    const text = await c.req.text()
    if (Buffer.byteLength(text) > MAX_IMPORT_BYTES) {
      return c.json(errorBody('bad_request', `file: at most ${MAX_IMPORT_BYTES} bytes`), 400)
    }
    try {
      return c.json(await datasets.importFile(c.get('projectId'), datasetId, format, text), 200)
    } catch (error) {
      const r = refusal(error)
      return r.status === 404
        ? c.json(r.body, 404)
        : c.json(errorBody('bad_request', r.body.error.message), 400)
    }
  })

  app.openapi(exportFile, async (c) => {
    const { datasetId } = c.req.valid('param')
    const { format, version } = c.req.valid('query')
    try {
      const file = await datasets.exportFile(c.get('projectId'), datasetId, format, version)
      return c.body(file.text, 200, {
        'content-type': FILE_TYPES[format],
        'content-disposition': `attachment; filename="dataset-${datasetId}-v${file.version}.${format}"`,
        'x-dataset-version': String(file.version),
      })
    } catch (error) {
      const r = refusal(error)
      return r.status === 404
        ? c.json(r.body, 404)
        : c.json(errorBody('bad_request', r.body.error.message), 400)
    }
  })
}
