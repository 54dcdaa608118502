// Budget counters: spent and reserved USD per (policy, target, period start), in budget_counters.
// Reservations are made all together in one IMMEDIATE transaction, which holds SQLite's write
// lock from its first statement: two connections (two processes) cannot both read the same
// remaining budget and both spend it. A shared store (PostgreSQL, Redis) implements the same
// interface.
import type Database from "better-sqlite3";

/** Two sums that ought to be equal may differ by float noise: 0.1 + 0.2 fits a budget of 0.3. */
export const BUDGET_TOLERANCE_USD = 1e-9;

export interface BudgetKey {
  policyId: string;
  targetId: string;
  periodStart: number;
}

export interface BudgetReservation extends BudgetKey {
  amountUsd: number;
  limitUsd: number;
}

export interface BudgetSettlement extends BudgetKey {
  /** The reservation to drop. */
  reservedUsd: number;
  /** What the call cost (0 on release). */
  spentUsd: number;
}

export interface BudgetStore {
  /**
   * Reserves every amount, or none: returns the index of the first reservation that does not
   * fit (spent + reserved + amount over the limit, or nothing left at all), or -1 when all were
   * made. A reservation for a policy that no longer exists is skipped.
   */
  reserve(reservations: readonly BudgetReservation[]): number;
  /** Moves reservations to spent, all together. A counter that is gone (its target or policy was deleted) is left alone. */
  settle(settlements: readonly BudgetSettlement[]): void;
}

/** Thrown inside the transaction to roll it back; carries the refused index out. */
class Refused {
  constructor(readonly index: number) {}
}

export class SqliteBudgetStore implements BudgetStore {
  private readonly reserveOne: Database.Statement;
  private readonly policyExists: Database.Statement;
  private readonly settleOne: Database.Statement;
  private readonly reserveAll: (reservations: readonly BudgetReservation[]) => void;
  private readonly settleAll: (settlements: readonly BudgetSettlement[]) => void;

  constructor(sqlite: Database.Database) {
    // One statement per policy: create the counter (only while the policy exists, so a policy
    // deleted since it was read is not an error) or add to it, but only where the amount fits.
    this.reserveOne = sqlite.prepare(`
      INSERT INTO budget_counters (policy_id, target_id, period_start, spent_usd, reserved_usd)
      SELECT id, @targetId, @periodStart, 0, @amountUsd FROM policies WHERE id = @policyId
      ON CONFLICT (policy_id, target_id, period_start) DO UPDATE SET reserved_usd = reserved_usd + excluded.reserved_usd
      WHERE spent_usd + reserved_usd < @limitUsd - @tolerance
        AND spent_usd + reserved_usd + excluded.reserved_usd <= @limitUsd + @tolerance`);
    this.policyExists = sqlite.prepare("SELECT 1 FROM policies WHERE id = ?").pluck();
    this.settleOne = sqlite.prepare(`
      UPDATE budget_counters SET spent_usd = spent_usd + @spentUsd, reserved_usd = max(0, reserved_usd - @reservedUsd)
      WHERE policy_id = @policyId AND target_id = @targetId AND period_start = @periodStart`);

    const reserveTx = sqlite.transaction((reservations: readonly BudgetReservation[]) => {
      for (let i = 0; i < reservations.length; i++) {
        const r = reservations[i];
        if (r.amountUsd > r.limitUsd + BUDGET_TOLERANCE_USD) throw new Refused(i);
        const { changes } = this.reserveOne.run({ policyId: r.policyId, targetId: r.targetId, periodStart: r.periodStart, amountUsd: r.amountUsd, limitUsd: r.limitUsd, tolerance: BUDGET_TOLERANCE_USD });
        if (changes === 0 && this.policyExists.get(r.policyId) !== undefined) throw new Refused(i);
      }
    });
    this.reserveAll = reserveTx.immediate;
    const settleTx = sqlite.transaction((settlements: readonly BudgetSettlement[]) => {
      for (const s of settlements) this.settleOne.run({ policyId: s.policyId, targetId: s.targetId, periodStart: s.periodStart, spentUsd: s.spentUsd, reservedUsd: s.reservedUsd });
    });
    this.settleAll = settleTx.immediate;
  }

  reserve(reservations: readonly BudgetReservation[]): number {
    if (reservations.length === 0) return -1;
    try {
      this.reserveAll(reservations);
      return -1;
    } catch (err) {
      if (err instanceof Refused) return err.index;
      throw err;
    }
  }

  settle(settlements: readonly BudgetSettlement[]): void {
    if (settlements.length > 0) this.settleAll(settlements);
  }
}
