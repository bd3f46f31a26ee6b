/**
 * Date.parse and toISOString with a memory. Hourly meter data repeats the same few timestamps
 * across a batch (every meter reports the same hour), and each reading crossed these conversions
 * five times on its way through validate → enrich_weather → write_hypertable: a Map lookup costs
 * a fraction of a parse or a format. Bounded: cleared when full, so a long backfill that walks
 * through time keeps only recent hours.
 */
import { remember } from './remember.js';

/** `Date.parse(text)`, remembered (NaN included). */
export const parseTime: (text: string) => number = remember((text: string) => Date.parse(text));

/** `new Date(ms).toISOString()`, remembered; `ms` must be a finite time. */
export const isoTime: (ms: number) => string = remember((ms: number) => new Date(ms).toISOString());
