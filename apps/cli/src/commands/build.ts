import { runNextBuild, webAppDir, webBuildState } from '../web-build'

/** `hindsight build`: build the dashboard unless its build is newer than its sources. */
export async function buildCommand(options: { force?: boolean } = {}): Promise<void> {
  const dir = webAppDir()
  const state = webBuildState(dir)
  if (state.status === 'fresh' && !options.force) {
    console.log(`The dashboard build is up to date (${dir}/.next).`)
    return
  }
  console.log(
    state.status === 'missing'
      ? 'Building the dashboard (no build yet)…'
      : state.status === 'stale'
        ? `Building the dashboard (${state.newer} changed since the last build)…`
        : 'Building the dashboard (forced)…',
  )
  await runNextBuild(dir)
}
