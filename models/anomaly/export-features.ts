/**
 * Writes the training matrix: every reading of a LEAD-format file run through the stage's own
 * feature code (stages/score_anomaly/features.ts), so Python never re-implements a feature.
 *
 *   bash scripts/node.sh npx tsx models/anomaly/export-features.ts LEAD.csv [METADATA.csv] > features.csv
 *
 * Columns: building_id, time (UTC ISO), value, anomaly, expected, then FEATURE_NAMES in order.
 */
import { existsSync } from 'node:fs';
import { readLeadFile, readMetadataFile } from '../../eval/lead.js';
import { FEATURE_COUNT, FEATURE_NAMES } from '../../stages/score_anomaly/features.js';
import { featuresOfSeries } from '../../stages/score_anomaly/series.js';

const [lead, metadata] = process.argv.slice(2);
if (!lead) {
  console.error('usage: export-features.ts LEAD.csv [METADATA.csv] > features.csv');
  process.exit(2);
}
const attributes = metadata && existsSync(metadata) ? readMetadataFile(metadata) : new Map();
const { series, skips } = await readLeadFile(lead, attributes);
const out: string[] = [['building_id', 'time', 'value', 'anomaly', 'expected', ...FEATURE_NAMES].join(',')];
let rows = 0;
for (const s of series) {
  const { matrix, expected } = featuresOfSeries(s.readings, s.attributes);
  s.readings.forEach((r, i) => {
    const features = Array.from(matrix.subarray(i * FEATURE_COUNT, (i + 1) * FEATURE_COUNT));
    const e = expected[i] as number;
    out.push(
      [
        s.building,
        new Date(r.timeMs).toISOString(),
        r.value,
        r.anomaly ? 1 : 0,
        Number.isNaN(e) ? '' : e,
        ...features,
      ].join(','),
    );
  });
  rows += s.readings.length;
  console.error(`export-features: building ${s.building}: ${s.readings.length} readings`);
}
process.stdout.write(`${out.join('\n')}\n`);
console.error(`export-features: ${series.length} buildings, ${rows} readings, skipped ${JSON.stringify(skips)}`);
