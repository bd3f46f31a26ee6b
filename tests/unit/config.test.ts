import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { extraSettingsSections } from '../../cli/settings-sections.js';
import { ConfigError, loadEnv, renderEnvExample } from '../../config/load.js';

describe('loadEnv', () => {
  it('defaults point at the local stack on loopback', () => {
    const env = loadEnv({});
    expect(env.KAFKA_BROKERS).toBe('127.0.0.1:9092');
    expect(env.DATABASE_URL).toMatch(/@127\.0\.0\.1:55432\//);
    expect(env.MILVUS_ADDRESS).toBe('127.0.0.1:19530');
    expect(env.PROMETHEUS_URL).toBe('http://127.0.0.1:19090');
    expect(env.EAIO_TOPIC_PREFIX).toBe('eaio');
  });

  it('reports every problem at once', () => {
    let caught: unknown;
    try {
      loadEnv({ EAIO_TOPIC_PARTITIONS: 'many', API_PORT: '70000', EAIO_TOPIC_PREFIX: 'bad prefix!' });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    const problems = (caught as ConfigError).problems;
    expect(problems).toHaveLength(3);
    expect(problems.join('\n')).toMatch(/EAIO_TOPIC_PARTITIONS/);
    expect(problems.join('\n')).toMatch(/API_PORT/);
    expect(problems.join('\n')).toMatch(/EAIO_TOPIC_PREFIX/);
  });

  it('treats an empty variable as unset', () => {
    expect(loadEnv({ KAFKA_BROKERS: '' }).KAFKA_BROKERS).toBe('127.0.0.1:9092');
  });
});

describe('.env.example', () => {
  it('is generated from the schema and committed up to date', () => {
    const committed = readFileSync(new URL('../../.env.example', import.meta.url), 'utf8');
    expect(committed).toBe(renderEnvExample(extraSettingsSections()));
    expect(committed).toMatch(/^DATABASE_URL=/m);
    expect(committed).toMatch(/^EAIO_ENRICH_WEATHER_MAX_WAIT_MS=/m);
  });
});
