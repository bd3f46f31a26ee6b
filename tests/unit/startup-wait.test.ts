import { describe, expect, it } from 'vitest';
import {
  addressOfUrl,
  ServiceUnreachableError,
  serviceFix,
  waitUntilReachable,
} from '../../pipeline/service-unreachable.js';

interface Line {
  fields: Record<string, unknown>;
  msg: string;
}

function recorder() {
  const lines: Line[] = [];
  const log = {
    warn: (fields: Record<string, unknown>, msg: string) => lines.push({ fields, msg }),
    info: (fields: Record<string, unknown>, msg: string) => lines.push({ fields, msg }),
  };
  return { lines, log: log as never };
}

const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
const unreachable = (e: unknown) =>
  (e as { code?: string }).code === 'ECONNREFUSED' ? (e as Error).message : undefined;
const fast = { baseMs: 1, capMs: 1, random: () => 0 };

describe('waitUntilReachable (start-up wait)', () => {
  it('retries an unreachable service, one warning per failed attempt naming service, address and fix', async () => {
    const { lines, log } = recorder();
    let calls = 0;
    const result = await waitUntilReachable(
      async () => {
        calls += 1;
        if (calls < 4) throw refused;
        return 'up';
      },
      unreachable,
      { service: 'PostgreSQL', address: 'db:5432/eaio', waitMs: 10_000, log, ...fast },
    );
    expect(result).toBe('up');
    expect(calls).toBe(4);
    const warnings = lines.filter((l) => l.msg === 'waiting for a service at start-up');
    expect(warnings).toHaveLength(3);
    expect(warnings[0]?.fields).toMatchObject({
      service: 'PostgreSQL',
      address: 'db:5432/eaio',
      reason: 'connect ECONNREFUSED 127.0.0.1:1',
      attempt: 1,
      fix: serviceFix('PostgreSQL'),
    });
    expect(lines.at(-1)?.msg).toBe('service reachable, starting');
  });

  it('gives up after waitMs with one ServiceUnreachableError that names the fix', async () => {
    const { log } = recorder();
    const started = Date.now();
    const error = await waitUntilReachable(() => Promise.reject(refused), unreachable, {
      service: 'Kafka',
      address: '127.0.0.1:1',
      waitMs: 400,
      log,
      ...fast,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServiceUnreachableError);
    expect((error as Error).message).toBe(
      "cannot reach Kafka at 127.0.0.1:1 (connect ECONNREFUSED 127.0.0.1:1). Start the local stack with 'npx eaio services up' or set KAFKA_BROKERS.",
    );
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('does not wait out an error that waiting cannot fix (bad password, missing database)', async () => {
    const { lines, log } = recorder();
    const auth = Object.assign(new Error('password authentication failed'), { code: '28P01' });
    let calls = 0;
    const error = await waitUntilReachable(
      () => {
        calls += 1;
        return Promise.reject(auth);
      },
      unreachable,
      { service: 'PostgreSQL', address: 'db', waitMs: 10_000, log, ...fast },
    ).catch((e: unknown) => e);
    expect(error).toBe(auth);
    expect(calls).toBe(1);
    expect(lines).toEqual([]);
  });

  it('cuts short an attempt that hangs once the wait is over', async () => {
    const { log } = recorder();
    const error = await waitUntilReachable(() => new Promise(() => undefined), unreachable, {
      service: 'Milvus',
      address: 'm:19530',
      waitMs: 300,
      log,
      ...fast,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServiceUnreachableError);
    expect((error as ServiceUnreachableError).message).toContain('set MILVUS_ADDRESS');
  });

  it('with waitMs 0 keeps trying, and a shutdown signal ends the wait', async () => {
    const { log } = recorder();
    const controller = new AbortController();
    let calls = 0;
    const waiting = waitUntilReachable(
      () => {
        calls += 1;
        if (calls === 5) controller.abort(new Error('shutdown'));
        return Promise.reject(refused);
      },
      unreachable,
      { service: 'Kafka', address: 'k:9092', waitMs: 0, log, signal: controller.signal, ...fast },
    );
    await expect(waiting).rejects.toThrow('shutdown');
    expect(calls).toBe(5);
  });
});

describe('addressOfUrl', () => {
  it('keeps host, port and database, never the credentials', () => {
    expect(addressOfUrl('postgres://eaio:secret@db.example:5433/eaio')).toBe('db.example:5433/eaio');
    expect(addressOfUrl('not a url')).toBe('(unparsable URL)');
  });
});
