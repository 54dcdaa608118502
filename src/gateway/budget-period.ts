// Budget periods in UTC: a day from midnight, a week from Monday midnight, a month from the 1st;
// TOTAL is one period that never ends.
import type { PolicyRow } from "./enforcement.types.js";

export type BudgetPeriod = NonNullable<PolicyRow["budgetPeriod"]>;

const DAY_MS = 86_400_000;

/** The start of the period containing `nowMs`, in epoch milliseconds (0 for TOTAL). */
export function periodStart(period: BudgetPeriod, nowMs: number): number {
  const midnight = Math.floor(nowMs / DAY_MS) * DAY_MS;
  switch (period) {
    case "DAY":
      return midnight;
    case "WEEK":
      // getUTCDay(): Sunday 0 ... Saturday 6; Monday starts the week.
      return midnight - ((new Date(midnight).getUTCDay() + 6) % 7) * DAY_MS;
    case "MONTH": {
      const d = new Date(midnight);
      return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
    }
    case "TOTAL":
      return 0;
  }
}
