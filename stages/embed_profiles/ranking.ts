/**
 * How day-level hits become building-level answers: a building is represented by several of its
 * days (queries); another building's score is the mean, over the queries, of its best-matching
 * day's similarity (0 for a query that did not reach it). Averaging over days rewards buildings
 * that behave alike on weekdays and weekends alike, not one lucky day.
 */
export interface DayHit {
  readonly buildingId: string;
  readonly score: number;
}

export interface BuildingScore {
  readonly buildingId: string;
  readonly score: number;
  /** Queries (days of the asking building) whose hits reached this building. */
  readonly matchedDays: number;
}

export function rankBuildings(hitsPerQuery: readonly (readonly DayHit[])[], limit: number): BuildingScore[] {
  const sums = new Map<string, { sum: number; days: number }>();
  for (const hits of hitsPerQuery) {
    const best = new Map<string, number>();
    for (const h of hits)
      if (h.score > (best.get(h.buildingId) ?? Number.NEGATIVE_INFINITY)) best.set(h.buildingId, h.score);
    for (const [buildingId, score] of best) {
      const s = sums.get(buildingId) ?? { sum: 0, days: 0 };
      s.sum += score;
      s.days++;
      sums.set(buildingId, s);
    }
  }
  const queries = Math.max(1, hitsPerQuery.length);
  return [...sums]
    .map(([buildingId, s]) => ({ buildingId, score: s.sum / queries, matchedDays: s.days }))
    .sort((a, b) => b.score - a.score || a.buildingId.localeCompare(b.buildingId))
    .slice(0, limit);
}

/** Top-k precision of same-label neighbours and the chance rate of the same population. */
export function labelAgreement(
  labels: ReadonlyMap<string, string | null>,
  neighbours: ReadonlyMap<string, readonly string[]>,
): { precision: number; chance: number; ratio: number; buildings: number } {
  let precisionSum = 0;
  let chanceSum = 0;
  let n = 0;
  const all = [...labels.keys()];
  for (const [building, found] of neighbours) {
    const label = labels.get(building);
    if (!label || found.length === 0) continue;
    precisionSum += found.filter((b) => labels.get(b) === label).length / found.length;
    const others = all.filter((b) => b !== building);
    chanceSum += others.filter((b) => labels.get(b) === label).length / Math.max(1, others.length);
    n++;
  }
  const precision = n ? precisionSum / n : 0;
  const chance = n ? chanceSum / n : 0;
  return { precision, chance, ratio: chance > 0 ? precision / chance : 0, buildings: n };
}
