/**
 * Date.parse and toISOString with a memory. Hourly meter data repeats the same few timestamps
 * across a batch (every meter reports the same hour), and each reading crossed these conversions
 * five times on its way through validate → enrich_weather → write_hypertable: a Map lookup costs
 * a fraction of a parse or a format. Bounded: cleared when full, so a long backfill that walks
 * through time keeps only recent hours.
 */
const LIMIT = 4_096;
const parsed = new Map<string, number>();
const formatted = new Map<number, string>();

/** `Date.parse(text)`, remembered (NaN included). */
export function parseTime(text: string): number {
  let ms = parsed.get(text);
  if (ms === undefined) {
    ms = Date.parse(text);
    if (parsed.size >= LIMIT) parsed.clear();
    parsed.set(text, ms);
  }
  return ms;
}

/** `new Date(ms).toISOString()`, remembered; `ms` must be a finite time. */
export function isoTime(ms: number): string {
  let text = formatted.get(ms);
  if (text === undefined) {
    text = new Date(ms).toISOString();
    if (formatted.size >= LIMIT) formatted.clear();
    formatted.set(ms, text);
  }
  return text;
}
