import { MAX_RETENTION_DAYS, ProjectSettingsRepository } from '@hindsight/collector/retention'
import { createRoute, z } from '@hono/zod-openapi'
import { BEARER, type PublicApiApp, type PublicApiDeps } from './context'
import { ERROR_RESPONSES, errorBody } from './errors'

const SettingsSchema = z
  .object({
    retention_days: z.number().int().openapi({
      description: 'Days spans are kept (by start time); 0 = forever. Older spans are deleted hourly.',
      example: 30,
    }),
    retention_source: z.enum(['project', 'default']).openapi({
      description: "'project' when set for this project, 'default' when the instance default applies.",
    }),
    default_retention_days: z.number().int().openapi({
      description: 'The instance default (HINDSIGHT_RETENTION_DAYS).',
      example: 30,
    }),
  })
  .openapi('ProjectSettings')

const SettingsInputSchema = z
  .strictObject({
    retention_days: z.number().int().min(0).max(MAX_RETENTION_DAYS).nullable().openapi({
      description: 'Days to keep spans; 0 = forever; null = follow the instance default.',
      example: 90,
    }),
  })
  .openapi('ProjectSettingsInput')

const json = <S extends z.ZodType>(schema: S) => ({ 'application/json': { schema } })

const getRoute = createRoute({
  method: 'get',
  path: '/settings',
  summary: "The project's settings (retention)",
  security: [BEARER],
  responses: { 200: { description: 'Settings.', content: json(SettingsSchema) }, ...ERROR_RESPONSES },
})

const putRoute = createRoute({
  method: 'put',
  path: '/settings',
  summary: "Change the project's settings (retention)",
  description: 'Spans older than the retention are deleted by the collector within the hour.',
  security: [BEARER],
  request: { body: { content: json(SettingsInputSchema), required: true } },
  responses: {
    200: { description: 'The settings now in effect.', content: json(SettingsSchema) },
    ...ERROR_RESPONSES,
  },
})

function publicSettings(setting: Awaited<ReturnType<ProjectSettingsRepository['retention']>>) {
  return {
    retention_days: setting.retention_days,
    retention_source: setting.source,
    default_retention_days: setting.default_retention_days,
  }
}

export function registerSettingsRoutes(app: PublicApiApp, deps: PublicApiDeps): void {
  const settings = new ProjectSettingsRepository(deps.storage)

  app.openapi(getRoute, async (c) =>
    c.json(publicSettings(await settings.retention(c.get('projectId'))), 200),
  )

  app.openapi(putRoute, async (c) => {
    const { retention_days } = c.req.valid('json')
    try {
      return c.json(publicSettings(await settings.setRetention(c.get('projectId'), retention_days)), 200)
    } catch (error) {
      if (error instanceof RangeError) return c.json(errorBody('bad_request', error.message), 400)
      throw error
    }
  })
}
