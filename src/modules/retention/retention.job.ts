// Enforces PORTCULLIS_RETENTION_DAYS while the server serves: a run at start, then every hour
// (the cutoff comes from the injected clock), one log line for each run that removed something.
import type { Logger } from "../../logger.js";
import type { RetentionReport, RetentionService } from "./retention.service.js";

export const RETENTION_INTERVAL_MS = 3_600_000;

export class RetentionJob {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<RetentionReport> | undefined;
  private readonly stopping = new AbortController();

  constructor(
    private readonly retention: RetentionService,
    private readonly days: number,
    private readonly logger: Logger,
  ) {}

  start(): void {
    const run = () => void this.runOnce().catch(() => {});
    run();
    this.timer = setInterval(run, RETENTION_INTERVAL_MS).unref();
  }

  /** One run; while one is under way, that one. Rejects when it failed (already logged). */
  runOnce(): Promise<RetentionReport> {
    this.running ??= this.retention
      .apply(this.days, { signal: this.stopping.signal })
      .then(
        (report) => {
          if (report.organizations.length > 0) this.logger.info({ retention: summary(report) }, "retention removed expired records");
          return report;
        },
        (err: Error) => {
          this.logger.error({ err: err.message }, "retention failed; it is tried again at the next run");
          throw err;
        },
      )
      .finally(() => (this.running = undefined));
    return this.running;
  }

  /** Stops the schedule; a run under way stops after its current batch. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.stopping.abort();
    await this.running?.catch(() => {});
  }
}

/** The log line's content: counts per organization and kind. */
export function summary(report: RetentionReport) {
  return {
    days: report.days,
    cutoff: report.cutoff.toISOString(),
    ...(report.interrupted && { interrupted: true }),
    organizations: report.organizations,
  };
}
