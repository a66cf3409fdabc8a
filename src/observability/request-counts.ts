/**
 * Requests counted by route, status and model label: three map lookups per request instead of
 * prom-client's label hash (a string built and looked up, the labels checked), copied into the
 * requests counter when it is scraped.
 */
export interface RequestCount {
  route: string;
  status: number;
  model: string;
  count: number;
}

export class RequestCounts {
  private readonly byRoute = new Map<string, Map<number, Map<string, RequestCount>>>();

  add(route: string, status: number, model: string): void {
    let byStatus = this.byRoute.get(route);
    if (byStatus === undefined) this.byRoute.set(route, (byStatus = new Map<number, Map<string, RequestCount>>()));
    let byModel = byStatus.get(status);
    if (byModel === undefined) byStatus.set(status, (byModel = new Map<string, RequestCount>()));
    const counted = byModel.get(model);
    if (counted === undefined) byModel.set(model, { route, status, model, count: 1 });
    else counted.count++;
  }

  *all(): Generator<RequestCount> {
    for (const byStatus of this.byRoute.values()) {
      for (const byModel of byStatus.values()) yield* byModel.values();
    }
  }
}
