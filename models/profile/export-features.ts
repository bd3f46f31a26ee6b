/**
 * Writes the encoder's training features as CSV on stdout: one row per complete-enough local day of
 * every meter of a BDG2 directory, computed by the stage's own feature code.
 *   npx tsx models/profile/export-features.ts [BDG2_DIR] [MAX_MISSING_HOURS]
 */
import { readSliceDays } from '../../eval/profile-days.js';
import { dayFeatures, FEATURE_NAMES } from '../../stages/embed_profiles/features.js';

const dir = process.argv[2] ?? '../shared/data/bdg2';
const maxMissing = Number(process.argv[3] ?? 4);
const meters = await readSliceDays({ dir, log: (l) => process.stderr.write(`export: ${l}\n`) });
const lines = [['meter_id', 'date', ...FEATURE_NAMES].join(',')];
let skipped = 0;
for (const m of meters) {
  for (const acc of [...m.days.values()].sort((a, b) => a.day.startMs - b.day.startMs)) {
    if (acc.missingHours > maxMissing) {
      skipped++;
      continue;
    }
    const f = dayFeatures({
      zone: m.zone,
      day: acc.day,
      values: acc.values,
      weather: acc.weather.values(),
      floorAreaSqm: m.floorAreaSqm,
    });
    lines.push([m.meterId, acc.day.date, ...Array.from(f, (x) => (Number.isNaN(x) ? '' : String(x)))].join(','));
  }
}
process.stderr.write(`export: ${lines.length - 1} days, ${skipped} skipped for missing hours\n`);
process.stdout.write(`${lines.join('\n')}\n`);
