/**
 * The background loop of the online evaluation worker and the objective monitor: runs `poll` at
 * once and then `intervalMs` after each poll ends (polls never overlap); errors go to `onError`
 * and the loop goes on. The timer is unref'd, so it never keeps the process alive.
 */
export class Poller {
  private timer: ReturnType<typeof setTimeout> | undefined
  private running: Promise<unknown> | undefined
  private stopped = true

  constructor(
    private readonly poll: () => Promise<unknown>,
    private readonly intervalMs: number,
    private readonly onError: (error: unknown) => void,
  ) {}

  /** Polls until {@link stop}; a no-op while polling. */
  start(): void {
    if (!this.stopped) return
    this.stopped = false
    const tick = () => {
      if (this.stopped) return
      this.running = this.poll()
        .catch((error) => this.onError(error))
        .finally(() => {
          this.running = undefined
          if (!this.stopped) this.schedule(tick, this.intervalMs)
        })
    }
    this.schedule(tick, 0)
  }

  /** Stops polling and waits for the current poll to finish. */
  async stop(): Promise<void> {
    this.stopped = true
    if (this.timer) clearTimeout(this.timer)
    await this.running
  }

  /** True once started and stopped again, with no poll in progress. */
  get halted(): boolean {
    return this.stopped && this.timer !== undefined && this.running === undefined
  }

  private schedule(tick: () => void, delayMs: number): void {
    this.timer = setTimeout(tick, delayMs)
    this.timer.unref?.()
  }
}
