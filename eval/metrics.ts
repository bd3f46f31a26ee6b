/** Ranking and threshold metrics of scores against binary labels. */

export interface BinaryMetrics {
  readonly readings: number;
  readonly positives: number;
  /** ROC-AUC with ties counted half; null when one class is absent. */
  readonly rocAuc: number | null;
  /** Average precision (area under the precision-recall steps); null without positives. */
  readonly prAuc: number | null;
  readonly precision: number;
  readonly recall: number;
  readonly f1: number;
  readonly flagged: number;
}

export function binaryMetrics(scores: ArrayLike<number>, labels: ArrayLike<boolean>, threshold: number): BinaryMetrics {
  const n = scores.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => (scores[b] as number) - (scores[a] as number));
  let positives = 0;
  for (let i = 0; i < n; i++) if (labels[i]) positives++;
  const negatives = n - positives;

  // Walk from the highest score down, one group of tied scores at a time.
  let tp = 0;
  let fp = 0;
  let aucSum = 0;
  let ap = 0;
  for (let i = 0; i < n; ) {
    const s = scores[order[i] as number] as number;
    let groupTp = 0;
    let groupFp = 0;
    for (; i < n && scores[order[i] as number] === s; i++) {
      if (labels[order[i] as number]) groupTp++;
      else groupFp++;
    }
    // Positives in this group rank above the negatives below it and tie with those in it.
    aucSum += groupTp * (negatives - fp - groupFp) + 0.5 * groupTp * groupFp;
    tp += groupTp;
    fp += groupFp;
    if (groupTp > 0 && positives > 0) ap += (groupTp / positives) * (tp / (tp + fp));
  }

  let flagged = 0;
  let truePositive = 0;
  for (let i = 0; i < n; i++) {
    if ((scores[i] as number) >= threshold) {
      flagged++;
      if (labels[i]) truePositive++;
    }
  }
  const precision = flagged > 0 ? truePositive / flagged : 0;
  const recall = positives > 0 ? truePositive / positives : 0;
  return {
    readings: n,
    positives,
    rocAuc: positives > 0 && negatives > 0 ? aucSum / (positives * negatives) : null,
    prAuc: positives > 0 ? ap : null,
    precision,
    recall,
    f1: precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0,
    flagged,
  };
}
