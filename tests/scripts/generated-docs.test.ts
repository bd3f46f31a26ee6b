import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { extraSettingsSections } from '../../cli/settings-sections.js';
import {
  generatedDocs,
  markdownTable,
  renderConfigurationDoc,
  renderStageTable,
  replaceBetweenMarkers,
} from '../../scripts/generated-docs.js';
import { branchStages, pipelineStages, stageDescriptors } from '../../stages/registry.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const read = (path: string): string => readFileSync(ROOT + path, 'utf8');

describe('generated documentation (npm run docs:generate)', () => {
  it.each(Object.keys(generatedDocs(read)))('%s is committed up to date', (path) => {
    expect(read(path), `${path} is stale: run npm run docs:generate`).toBe(generatedDocs(read)[path]);
  });

  it('the README stage table has one row per pipeline stage, in order, then the branch stages, and none for auxiliary stages', () => {
    const names = renderStageTable()
      .split('\n')
      .slice(2)
      .map((row) => /^\| `(\w+)`/.exec(row)?.[1]);
    expect(names).toEqual([...pipelineStages(), ...branchStages()]);
    expect(branchStages()).toContain('embed_profiles');
    const listed: readonly string[] = [...pipelineStages(), ...branchStages()];
    const auxiliary = stageDescriptors.filter((d) => !listed.includes(d.name)).map((d) => d.name);
    expect(auxiliary.length).toBeGreaterThan(0);
    for (const name of auxiliary) expect(renderStageTable()).not.toContain(`\`${name}\``);
  });

  it('docs/configuration.md lists every setting and every former name', () => {
    const doc = renderConfigurationDoc();
    for (const section of extraSettingsSections()) {
      for (const key of Object.keys(section.schema.shape)) expect(doc).toContain(`| \`${key}\``);
      for (const former of Object.keys(section.aliases ?? {})) expect(doc).toContain(`\`${former}\``);
    }
    expect(doc).toContain('`EAIO_WRITER_MAINTENANCE_CRON`');
  });

  it('carries no path of this checkout: the committed files must match in any clone', () => {
    const checkout = fileURLToPath(new URL('../../', import.meta.url));
    expect(renderConfigurationDoc()).not.toContain(checkout);
    expect(readFileSync(new URL('../../.env.example', import.meta.url), 'utf8')).not.toContain(checkout);
  });
});

describe('replaceBetweenMarkers', () => {
  const text = 'intro\n<!-- t:begin -->\nold\nrows\n<!-- t:end -->\noutro\n';

  it('replaces only what lies between the markers, which stay', () => {
    expect(replaceBetweenMarkers(text, 't', 'new')).toBe('intro\n<!-- t:begin -->\nnew\n<!-- t:end -->\noutro\n');
  });

  it('is idempotent', () => {
    const once = replaceBetweenMarkers(text, 't', 'new');
    expect(replaceBetweenMarkers(once, 't', 'new')).toBe(once);
  });

  it('names the markers when they are missing', () => {
    expect(() => replaceBetweenMarkers('no markers', 't', 'x')).toThrow('<!-- t:begin -->');
    expect(() => replaceBetweenMarkers('<!-- t:end --> <!-- t:begin -->', 't', 'x')).toThrow(/missing/);
  });
});

describe('markdownTable', () => {
  it('pads the columns and escapes pipes inside cells', () => {
    expect(markdownTable(['a', 'long header'], [['x|y', 'z']])).toBe(
      ['| a    | long header |', '| ---- | ----------- |', '| x\\|y | z           |'].join('\n'),
    );
  });
});
