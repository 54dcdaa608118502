// Time is injected so that expiry, grace periods, lockouts, retry waits and breaker cool-downs
// are tested without waiting.
import { setTimeout as wait } from "node:timers/promises";

export interface Clock {
  now(): Date;
  /** Waits ms (a retry's backoff); rejects with the signal's reason when it aborts first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => new Date(),
  sleep: (ms, signal) => wait(ms, undefined, { signal }),
};

/**
 * A clock that tests move by hand. A sleep moves it forward by the time slept and returns at
 * once (virtual time), and is recorded, so that a test can see how long a call would have waited.
 */
export class ManualClock implements Clock {
  readonly sleeps: number[] = [];

  constructor(private current = new Date("2026-01-01T00:00:00.000Z")) {}
  now(): Date {
    return new Date(this.current.getTime());
  }
  advance(ms: number): void {
    this.current = new Date(this.current.getTime() + ms);
  }
  set(date: Date): void {
    this.current = new Date(date.getTime());
  }
  async sleep(ms: number, signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    this.sleeps.push(ms);
    this.advance(ms);
  }
}
