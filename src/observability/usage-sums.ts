/**
 * Tokens and cost summed by model and key name: two map lookups per answered request instead
 * of prom-client's label hash for each of three labelled increments, copied into the tokens
 * and cost counters when they are scraped (as request-counts.ts does for requests).
 */
export interface UsageSum {
  model: string;
  key: string;
  promptTokens: number;
  completionTokens: number;
  costUsd: number;
}

export class UsageSums {
  private readonly byModel = new Map<string, Map<string, UsageSum>>();

  add(model: string, key: string, promptTokens: number, completionTokens: number, costUsd: number): void {
    let byKey = this.byModel.get(model);
    if (byKey === undefined) this.byModel.set(model, (byKey = new Map<string, UsageSum>()));
    const sum = byKey.get(key);
    if (sum === undefined) {
      byKey.set(key, { model, key, promptTokens, completionTokens, costUsd });
      return;
    }
    sum.promptTokens += promptTokens;
    sum.completionTokens += completionTokens;
    sum.costUsd += costUsd;
  }

  *all(): Generator<UsageSum> {
    for (const byKey of this.byModel.values()) yield* byKey.values();
  }
}
