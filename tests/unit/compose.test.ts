import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { commands } from '../../cli/registry.js';
import { extraSettingsSections } from '../../cli/settings-sections.js';
import { coreSection } from '../../config/load.js';
import { isStageName, pipelineStages } from '../../stages/registry.js';

// docker compose cannot run on the development machines (no engine), so this is the guard that
// keeps docker-compose.yml, the Prometheus config and the Grafana provisioning consistent.

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const COMPOSE_FILE = join(ROOT, 'docker-compose.yml');

type Healthcheck = { test?: string[] | string; disable?: boolean };
type Port = string | number | { target: number; published?: number | string };
type Service = {
  image?: string;
  build?: string | { context?: string; dockerfile?: string };
  command?: string[] | string;
  environment?: Record<string, string> | string[];
  ports?: Port[];
  volumes?: Array<string | { source?: string; target: string }>;
  healthcheck?: Healthcheck;
  depends_on?: string[] | Record<string, { condition?: string }>;
  restart?: string;
  profiles?: string[];
};
type Compose = { services: Record<string, Service>; volumes?: Record<string, unknown> };

// The file uses `<<: *anchor` merges; YAML 1.2 parsers only honour them when asked to.
const readYaml = <T>(path: string): T => parse(readFileSync(path, 'utf8'), { merge: true }) as T;
const compose = readYaml<Compose>(COMPOSE_FILE);
const services = compose.services;

/** Third-party images; every other service runs our image (bin/eaio.mjs with its command). */
const INFRA = ['redpanda', 'timescaledb', 'etcd', 'minio', 'milvus', 'prometheus', 'grafana'] as const;
const APP = Object.keys(services).filter((name) => !(INFRA as readonly string[]).includes(name));
const ONE_SHOT = new Set(['migrate']);
const WORKERS = APP.filter((name) => !ONE_SHOT.has(name));

/**
 * Services that name a stage or command which does not exist yet. Each must sit in a profile
 * (not started by `docker compose up`); once its code lands, the last test below says to take
 * it off this list, and the command check then covers it like every other service.
 */
const PENDING: Readonly<Record<string, string>> = {
  api: 'the `eaio api` command',
};

/** Process variables of the image that are not EAIO settings. */
const NON_SETTINGS = new Set(['NODE_ENV', 'NODE_OPTIONS']);

function service(name: string): Service {
  const s = services[name];
  if (!s) throw new Error(`docker-compose.yml has no service "${name}"`);
  return s;
}

function envOf(s: Service): Record<string, string> {
  if (Array.isArray(s.environment)) {
    return Object.fromEntries(
      s.environment.map((kv) => {
        const i = kv.indexOf('=');
        return i < 0 ? [kv, ''] : [kv.slice(0, i), kv.slice(i + 1)];
      }),
    );
  }
  return Object.fromEntries(Object.entries(s.environment ?? {}).map(([k, v]) => [k, String(v)]));
}

/** Host ports a service publishes; the short syntax may carry an interpolated host IP. */
function publishedPorts(s: Service): number[] {
  return (s.ports ?? []).flatMap((p) => {
    if (typeof p === 'object') return p.published === undefined ? [] : [Number(p.published)];
    const m = /(\d+):\d+(?:\/\w+)?$/.exec(String(p));
    return m ? [Number(m[1])] : [];
  });
}

/** Bind-mount sources (as written, e.g. ./grafana/provisioning) mapped to their targets. */
function bindMounts(s: Service): Map<string, string> {
  const out = new Map<string, string>();
  for (const v of s.volumes ?? []) {
    if (typeof v === 'object') {
      if (v.source?.startsWith('.')) out.set(v.source, v.target);
      continue;
    }
    const [src, target] = v.split(':');
    if (src?.startsWith('.') && target) out.set(src.replace(/\/$/, ''), target);
  }
  return out;
}

function commandOf(s: Service): string[] {
  return typeof s.command === 'string' ? s.command.split(/\s+/) : (s.command ?? []);
}

// `eaio run` options that take a value: their value is not a stage name.
const RUN_OPTIONS_WITH_VALUE = new Set(['--drain-timeout']);

/** Stage names (chain parts, `all` expanded) a `run` command line names. */
function stagesRun(args: readonly string[]): string[] {
  const named = args.filter((a, i) => !a.startsWith('-') && !RUN_OPTIONS_WITH_VALUE.has(args[i - 1] ?? ''));
  return named.flatMap((n) => (n === 'all' ? pipelineStages() : n.split('+')));
}

/** Why the image could not run this command, or undefined when `eaio` knows it. */
function commandProblem(command: readonly string[]): string | undefined {
  const [name, ...args] = command;
  if (name === undefined) return 'no command: the image would print --help and exit';
  if (!Object.hasOwn(commands, name)) return `"${name}" is not an eaio command (cli/registry.ts)`;
  if (name !== 'run') return undefined;
  const stages = stagesRun(args);
  if (stages.length === 0) return 'run names no stage';
  const unknown = stages.filter((stage) => !isStageName(stage));
  return unknown.length > 0 ? `run names unregistered stages ${unknown.join(', ')} (stages/registry.ts)` : undefined;
}

const isActive = (s: Service): boolean => (s.profiles ?? []).length === 0;

describe('docker-compose.yml', () => {
  it('defines the infrastructure, the migration and a running worker for every pipeline stage', () => {
    for (const name of [...INFRA, 'migrate']) expect(services, name).toHaveProperty([name]);
    const running = new Set(
      Object.values(services)
        .filter((s) => isActive(s) && commandOf(s)[0] === 'run')
        .flatMap((s) => stagesRun(commandOf(s).slice(1))),
    );
    for (const stage of pipelineStages()) expect(running, `no service runs ${stage}`).toContain(stage);
  });

  it('runs our image only with eaio commands, and `run` only with registered stages', () => {
    for (const name of APP) {
      if (Object.hasOwn(PENDING, name)) continue;
      expect(commandProblem(commandOf(service(name))), name).toBeUndefined();
    }
  });

  it.each(Object.entries(PENDING))('keeps %s, waiting for %s, out of `docker compose up`', (name, what) => {
    const s = service(name);
    expect(s.profiles ?? [], `${name} must stay behind a profile until ${what} exists`).not.toHaveLength(0);
    expect(
      commandProblem(commandOf(s)),
      `${what} has landed: take ${name} off PENDING in this test and out of its profile`,
    ).toBeDefined();
  });

  it('names a worker of one stage after it, and runs the migration once', () => {
    for (const name of APP) {
      const [command, ...args] = commandOf(service(name));
      if (command !== 'run' || args.length !== 1 || args[0]?.includes('+')) continue;
      expect(name).toBe(args[0]?.replaceAll('_', '-'));
    }
    expect(commandOf(service('migrate'))).toEqual(['migrate']);
    expect(service('migrate').restart).toBe('no');
  });

  it('sets only current setting names in our containers (no deprecated former names, no typos)', () => {
    const sections = [coreSection, ...extraSettingsSections()];
    const current = new Set(sections.flatMap((section) => Object.keys(section.schema.shape)));
    const formerly = new Map(sections.flatMap((section) => Object.entries(section.aliases ?? {})));
    expect(formerly.size, 'the settings sections list their former names').toBeGreaterThan(0);
    for (const name of APP) {
      for (const key of Object.keys(envOf(service(name)))) {
        expect(formerly.get(key), `${name}: ${key} is a former name`).toBeUndefined();
        expect(current.has(key) || NON_SETTINGS.has(key), `${name}: ${key} is no setting (eaio config show)`).toBe(
          true,
        );
      }
    }
  });

  it('leaves the stage workers scalable (--scale): no container_name and no published host port', () => {
    for (const name of WORKERS.filter((n) => commandOf(service(n))[0] === 'run')) {
      const s = service(name) as Service & { container_name?: string };
      expect(s.container_name, `${name}: a container_name allows one replica only`).toBeUndefined();
      expect(publishedPorts(s), `${name}: a published port allows one replica per host`).toEqual([]);
    }
  });

  it('gives every long-running service a health check', () => {
    for (const [name, s] of Object.entries(services)) {
      if (ONE_SHOT.has(name)) continue;
      expect(s.healthcheck?.disable, `${name} healthcheck disabled`).not.toBe(true);
      expect(s.healthcheck?.test, `${name} has no healthcheck.test`).toBeTruthy();
    }
  });

  it('publishes the ports users connect to', () => {
    const expected: Record<string, number> = {
      redpanda: 9092,
      timescaledb: 5432,
      milvus: 19530,
      prometheus: 9090,
      grafana: 3000,
      api: 8080,
    };
    for (const [name, port] of Object.entries(expected)) {
      expect(publishedPorts(service(name)), name).toContain(port);
    }
  });

  it('builds the workers, the migration and the API from the Dockerfile', () => {
    const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/^ENTRYPOINT \["node", ?"bin\/eaio\.mjs"\]/m);
    for (const name of APP) {
      const { build } = service(name);
      const spec = typeof build === 'string' ? { context: build } : build;
      expect(spec, `${name} has no build`).toBeDefined();
      expect(spec?.context ?? '.', name).toBe('.');
      expect(spec?.dockerfile ?? 'Dockerfile', name).toBe('Dockerfile');
    }
  });

  it('points the app containers at the compose network, not at 127.0.0.1', () => {
    for (const name of APP) {
      const env = envOf(service(name));
      expect(env.KAFKA_BROKERS, name).toBe('redpanda:29092');
      expect(env.DATABASE_URL, name).toMatch(/@timescaledb:5432\//);
      expect(env.MILVUS_ADDRESS, name).toBe('milvus:19530');
      expect(env.PROMETHEUS_URL, name).toBe('http://prometheus:9090');
      expect(env.METRICS_HOST, name).toBe('0.0.0.0');
      expect(env.METRICS_PORT, name).toBe('9464');
      expect(env.API_HOST, name).toBe('0.0.0.0');
    }
  });

  it('starts the workers only after the migration has finished', () => {
    for (const name of WORKERS) {
      const deps = service(name).depends_on;
      expect(Array.isArray(deps), `${name} depends_on must use conditions`).toBe(false);
      expect((deps as Record<string, { condition?: string }>).migrate?.condition, name).toBe(
        'service_completed_successfully',
      );
    }
  });

  it('mounts only files and folders that exist in the repository', () => {
    for (const [name, s] of Object.entries(services)) {
      for (const src of bindMounts(s).keys()) {
        // sql/ is tracked only once migrations exist; git does not keep empty folders.
        if (src === './sql') continue;
        expect(existsSync(join(ROOT, src)), `${name} mounts missing ${src}`).toBe(true);
      }
    }
  });

  it('declares every named volume it uses', () => {
    const declared = new Set(Object.keys(compose.volumes ?? {}));
    for (const [name, s] of Object.entries(services)) {
      for (const v of s.volumes ?? []) {
        const src = typeof v === 'string' ? v.split(':')[0] : v.source;
        if (src && !src.startsWith('.') && !src.startsWith('/')) expect(declared, `${name}: ${src}`).toContain(src);
      }
    }
  });
});

describe('Prometheus config (deploy/prometheus/prometheus.yml)', () => {
  const mounts = bindMounts(service('prometheus'));

  it('is the file mounted into the prometheus service', () => {
    expect(mounts.get('./deploy/prometheus/prometheus.yml')).toBe('/etc/prometheus/prometheus.yml');
  });

  type DnsSd = { names: string[]; type?: string; port?: number };
  type Relabel = { source_labels?: string[]; target_label?: string; action?: string };
  type Scrape = {
    job_name: string;
    static_configs?: Array<{ targets: string[] }>;
    dns_sd_configs?: DnsSd[];
    relabel_configs?: Relabel[];
  };
  const config = readYaml<{ global?: { scrape_interval?: string }; scrape_configs: Scrape[] }>(
    join(ROOT, 'deploy/prometheus/prometheus.yml'),
  );

  it('finds every replica of every worker that starts (not those behind a profile) by DNS on its metrics port', () => {
    // A service name resolves to every replica's address on the compose network, so `--scale`
    // needs no change here; a fixed `service:9464` target would scrape one replica at random.
    const byDns = config.scrape_configs.flatMap((j) =>
      (j.dns_sd_configs ?? []).filter((d) => (d.type ?? 'SRV') === 'A' && d.port === 9464).flatMap((d) => d.names),
    );
    const fixed = config.scrape_configs.flatMap((j) => (j.static_configs ?? []).flatMap((c) => c.targets));
    for (const name of WORKERS) {
      expect(fixed, `${name} must be found by DNS, not as a fixed target`).not.toContain(`${name}:9464`);
      if (Object.hasOwn(PENDING, name)) expect(byDns).not.toContain(name);
      else expect(byDns, `no dns_sd_configs name for ${name}`).toContain(name);
    }
    expect(config.global?.scrape_interval).toMatch(/^(1[0-5]|[1-9])s$/);
  });

  it('passes `promtool check config`, if promtool is installed', ({ skip }) => {
    const result = spawnSync('promtool', ['check', 'config', join(ROOT, 'deploy/prometheus/prometheus.yml')], {
      encoding: 'utf8',
      timeout: 15_000,
    });
    if (result.error) skip('promtool not found (apt-get install prometheus); the YAML checks above still ran');
    expect(result.status, result.stderr + result.stdout).toBe(0);
  });

  it('labels each scraped replica with its service', () => {
    for (const job of config.scrape_configs.filter((j) => j.dns_sd_configs)) {
      expect(job.relabel_configs ?? [], job.job_name).toContainEqual(
        expect.objectContaining({ source_labels: ['__meta_dns_name'], target_label: 'service' }),
      );
    }
  });
});

describe('Grafana provisioning', () => {
  const mounts = bindMounts(service('grafana'));
  const dashboardsDir = join(ROOT, 'grafana/dashboards');

  it('mounts grafana/provisioning and grafana/dashboards', () => {
    expect(mounts.get('./grafana/provisioning')).toBe('/etc/grafana/provisioning');
    expect(mounts.get('./grafana/dashboards')).toBe('/var/lib/grafana/dashboards');
  });

  it('has a dashboard provider reading the mounted dashboards folder', () => {
    const file = readYaml<{ providers: Array<{ type: string; options: { path: string } }> }>(
      join(ROOT, 'grafana/provisioning/dashboards/dashboards.yml'),
    );
    expect(file.providers.map((p) => [p.type, p.options.path])).toContainEqual([
      'file',
      mounts.get('./grafana/dashboards'),
    ]);
  });

  const datasources = readYaml<{ datasources: Array<{ uid: string; type: string; user?: string }> }>(
    join(ROOT, 'grafana/provisioning/datasources/datasources.yml'),
  ).datasources;

  it('provisions Prometheus and PostgreSQL as a member of the read-only role eaio_reader', () => {
    expect(datasources.find((d) => d.type === 'prometheus')).toBeDefined();
    const pg = datasources.find((d) => d.type === 'grafana-postgresql-datasource' || d.type === 'postgres');
    expect(pg?.user).toBeTruthy();
    // `${VAR}` in provisioning comes from the grafana container, whose value is `${VAR:-default}`.
    const fromEnv = /^\$\{(\w+)\}$/.exec(pg?.user ?? '')?.[1];
    const raw = fromEnv ? envOf(service('grafana'))[fromEnv] : pg?.user;
    const user = /^\$\{\w+:-([^}]+)\}$/.exec(raw ?? '')?.[1] ?? raw;
    expect(user).toMatch(/^\w+$/);
    // Guards against the migrations renaming the login role out from under Grafana and the API.
    const migrations = join(ROOT, 'sql/migrations');
    if (existsSync(migrations)) {
      const sql = readdirSync(migrations)
        .filter((f) => f.endsWith('.sql'))
        .map((f) => readFileSync(join(migrations, f), 'utf8'))
        .join('\n');
      expect(sql).toMatch(new RegExp(`CREATE ROLE ${user} LOGIN\\b[^;]*\\bIN ROLE eaio_reader\\b`, 'i'));
    }
  });

  type Target = { expr?: string; rawSql?: string; datasource?: { uid?: string } };
  type Panel = { type: string; title?: string; targets?: Target[]; panels?: Panel[]; datasource?: { uid?: string } };
  // Rows hold their panels when collapsed; text/row panels query nothing.
  const flatten = (panels: Panel[]): Panel[] => panels.flatMap((p) => [p, ...flatten(p.panels ?? [])]);
  const QUERYLESS = new Set(['row', 'text', 'news', 'dashlist']);

  const jsonFiles = (dir: string): string[] =>
    readdirSync(dir).flatMap((f) => {
      const p = join(dir, f);
      if (statSync(p).isDirectory()) return jsonFiles(p);
      return f.endsWith('.json') ? [p] : [];
    });
  const dashboards = jsonFiles(dashboardsDir);

  it('ships at least the pipeline overview dashboard', () => {
    expect(dashboards.map((p) => relative(dashboardsDir, p))).toContain('pipeline-overview.json');
  });

  it.each(dashboards.map((p) => [relative(ROOT, p), p]))('%s parses and every panel has queries', (_, path) => {
    const dashboard = JSON.parse(readFileSync(path, 'utf8')) as { uid?: string; title?: string; panels?: Panel[] };
    expect(dashboard.uid).toBeTruthy();
    expect(dashboard.title).toBeTruthy();
    const panels = flatten(dashboard.panels ?? []).filter((p) => !QUERYLESS.has(p.type));
    expect(panels.length).toBeGreaterThan(0);
    const uids = new Set(datasources.map((d) => d.uid));
    for (const p of panels) {
      expect(p.targets?.length, `panel "${p.title}" has no targets`).toBeGreaterThan(0);
      for (const t of p.targets ?? []) {
        expect(t.expr ?? t.rawSql, `panel "${p.title}" has an empty target`).toBeTruthy();
        const uid = t.datasource?.uid ?? p.datasource?.uid;
        // Template variables (${DS}) resolve at run time; literal uids must be provisioned.
        if (uid && !uid.startsWith('$')) expect(uids, `panel "${p.title}"`).toContain(uid);
      }
    }
  });
});

describe('docker-compose v1 (Debian package), if installed', () => {
  const probe = spawnSync('docker-compose', ['version', '--short'], { encoding: 'utf8' });
  const available = probe.error === undefined && probe.status === 0;

  it('accepts the file with `docker-compose config -q`', ({ skip }) => {
    if (!available) {
      skip('docker-compose binary not found (apt-get install docker-compose); the YAML checks above still ran');
    }
    const result = spawnSync('docker-compose', ['-f', COMPOSE_FILE, 'config', '-q'], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 15_000,
    });
    expect(result.status, result.stderr).toBe(0);
  });
});
