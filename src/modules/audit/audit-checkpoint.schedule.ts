// The interval at which a serving process signs every audit chain whose head moved. A real timer,
// not the injected clock: the clock only says what time a checkpoint carries.
import type { Logger } from "../../logger.js";
import type { AuditCheckpointService } from "./audit-checkpoint.service.js";

export class AuditCheckpointSchedule {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;

  constructor(
    private readonly checkpoints: AuditCheckpointService,
    private readonly intervalMs: number,
    private readonly logger: Logger,
  ) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      // A round that outlasts the interval is not overtaken by the next one.
      this.running ??= this.round().finally(() => (this.running = undefined));
    }, this.intervalMs);
    this.timer.unref();
  }

  /** Stops the timer and waits for a round in progress, so that the database can close after it. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  private async round(): Promise<void> {
    try {
      const signed = await this.checkpoints.signMovedHeads();
      if (signed > 0) this.logger.info({ signed }, "signed audit checkpoints");
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, "audit checkpoints could not be signed; the next round tries again");
    }
  }
}
