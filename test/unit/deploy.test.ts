/**
 * The deployment files agree with the code: docker-compose.yml, the Dockerfile, app.yaml (App
 * Engine flexible) and config/redis.conf are parsed and checked against package.json,
 * src/config.ts and the routes a started server answers. No Docker engine runs here, so this is
 * what can be checked of them; the Redis configuration is loaded into a real redis-server.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { parse as parseYaml } from 'yaml';
import { loadConfig } from '../../src/config.js';
import { freePort, redisServerBin, redisServerSkip } from '../helpers/redis-server.js';
import { root, startServer, type TestServer } from '../helpers/server.js';

const read = (p: string): string => readFileSync(path.join(root, p), 'utf8');
type Obj = Record<string, unknown>;
const obj = (v: unknown, what: string): Obj => {
  assert.ok(v !== null && typeof v === 'object' && !Array.isArray(v), `${what} must be a mapping`);
  return v as Obj;
};
const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string>; engines: { node: string } };
const startCommand = pkg.scripts.start!;

/** Every environment variable the server reads: loadConfig's helpers, plus direct reads in src/. */
function variablesTheCodeReads(): Set<string> {
  const names = new Set<string>();
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir)) {
      const p = path.join(dir, e);
      if (statSync(p).isDirectory()) {
        if (e !== 'client') walk(p);
      } else if (e.endsWith('.ts')) files.push(p);
    }
  };
  walk(path.join(root, 'src'));
  for (const f of files) {
    const src = readFileSync(f, 'utf8');
    for (const m of src.matchAll(/\b(?:str|int|oneOf)\(\s*'([A-Z][A-Z0-9_]*)'/g)) names.add(m[1]!);
    for (const m of src.matchAll(/\b(?:process\.)?env\.([A-Z][A-Z0-9_]*)\b/g)) names.add(m[1]!);
    for (const m of src.matchAll(/\benv\[\s*'([A-Z][A-Z0-9_]*)'\s*\]/g)) names.add(m[1]!);
  }
  return names;
}
const readByCode = variablesTheCodeReads();

interface Instruction {
  op: string;
  args: string;
}
/** Dockerfile instructions, with comments dropped and `\` continuations joined. */
function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (pending === '' && (line === '' || line.startsWith('#'))) continue;
    if (line.startsWith('#')) continue;
    if (line.endsWith('\\')) {
      pending += line.slice(0, -1) + ' ';
      continue;
    }
    const full = (pending + line).trim();
    pending = '';
    const m = /^([A-Za-z]+)\s+([\s\S]*)$/.exec(full);
    assert.ok(m, `unparsable Dockerfile line: ${full}`);
    out.push({ op: m[1]!.toUpperCase(), args: m[2]!.trim() });
  }
  assert.equal(pending, '', 'Dockerfile ends inside a line continuation');
  return out;
}

/** `["node", "dist/main.js"]` (exec form) or `node dist/main.js` (shell form) as one command line. */
function commandLine(args: string): string {
  if (args.startsWith('[')) return (JSON.parse(args) as string[]).join(' ');
  return args;
}

describe('docker-compose.yml', () => {
  const compose = obj(parseYaml(read('docker-compose.yml')), 'compose file');
  const services = obj(compose.services, 'services');
  const SERVICE_KEYS = new Set([
    'image',
    'build',
    'command',
    'entrypoint',
    'environment',
    'env_file',
    'ports',
    'expose',
    'volumes',
    'depends_on',
    'healthcheck',
    'deploy',
    'restart',
    'stop_grace_period',
    'stop_signal',
    'networks',
    'user',
    'read_only',
    'init',
    'labels',
    'logging',
  ]);

  test('uses only Compose keys, and every named volume is declared', () => {
    for (const key of Object.keys(compose)) {
      assert.ok(['name', 'services', 'volumes', 'networks'].includes(key) || key.startsWith('x-'), `top-level ${key}`);
    }
    const declared = Object.keys(obj(compose.volumes ?? {}, 'volumes'));
    for (const [name, svc] of Object.entries(services)) {
      for (const key of Object.keys(obj(svc, name)))
        assert.ok(SERVICE_KEYS.has(key), `${name}.${key} is not a Compose key`);
      for (const v of ((svc as Obj).volumes as string[] | undefined) ?? []) {
        const source = v.split(':')[0]!;
        if (source.startsWith('.')) assert.ok(existsSync(path.join(root, source)), `${name} mounts missing ${source}`);
        else assert.ok(declared.includes(source), `${name} uses undeclared volume ${source}`);
      }
    }
  });

  test('redis: Redis 7 with config/redis.conf mounted and used, data on a volume, health-checked', () => {
    const redis = obj(services.redis, 'services.redis');
    assert.match(String(redis.image), /^redis:7(\.|$|-)/);
    const volumes = redis.volumes as string[];
    const conf = volumes.find((v) => v.startsWith('./config/redis.conf:'));
    assert.ok(conf, 'config/redis.conf is mounted');
    const target = conf.split(':')[1]!;
    assert.deepEqual(redis.command, ['redis-server', target], 'redis-server is started with the mounted file');
    assert.ok(
      volumes.some((v) => /^[\w-]+:\/data(:|$)/.test(v)),
      'the data directory /data (the image working directory, where the AOF goes) is a named volume',
    );
    const hc = obj(redis.healthcheck, 'redis.healthcheck');
    assert.deepEqual(hc.test, ['CMD', 'redis-cli', 'ping']);
  });

  test('app: built from the Dockerfile, two replicas, waits for a healthy Redis, secret from the environment', () => {
    const app = obj(services.app, 'services.app');
    const build = obj(app.build, 'app.build');
    assert.equal(build.context, '.');
    assert.equal(build.dockerfile, 'Dockerfile');
    assert.ok(existsSync(path.join(root, 'Dockerfile')));
    assert.equal(obj(app.deploy, 'app.deploy').replicas, 2);
    assert.deepEqual(obj(app.depends_on, 'app.depends_on').redis, { condition: 'service_healthy' });
    assert.ok(!('ports' in app), 'replicas publish no host port (only the balancer does)');
    const env = obj(app.environment, 'app.environment');
    assert.equal(env.NODE_ENV, 'production');
    assert.equal(env.REDIS_URL, 'redis://redis:6379/0', 'the redis service by name');
    assert.match(String(env.SESSION_SECRET), /^\$\{SESSION_SECRET:\?[^}]+\}$/, 'required from the environment');
    assert.equal(
      env.AUTH,
      '${AUTH:-password}',
      'real accounts unless told otherwise (dev sign-in lets anyone be anyone)',
    );
    for (const name of Object.keys(env)) assert.ok(readByCode.has(name), `${name} is not read by src/`);
  });

  test('lb: a sticky balancer in front of the app replicas', () => {
    const lb = obj(services.lb, 'services.lb');
    assert.match(String(lb.image), /^haproxy:\d/);
    const mount = (lb.volumes as string[]).find((v) => v.startsWith('./config/haproxy.cfg:'));
    assert.equal(mount?.split(':')[1], '/usr/local/etc/haproxy/haproxy.cfg', 'where the haproxy image reads it');
    assert.ok(
      (lb.ports as string[]).some((p) => /:8080$/.test(p)),
      'publishes the frontend port',
    );
    assert.ok('app' in obj(lb.depends_on, 'lb.depends_on'));

    const cfg = read('config/haproxy.cfg')
      .split('\n')
      .map((l) => l.replace(/#.*/, '').trim())
      .filter(Boolean);
    const has = (re: RegExp): string | undefined => cfg.find((l) => re.test(l));
    assert.ok(has(/^bind :8080$/), 'frontend on the published port');
    assert.ok(has(/^cookie \S+ insert\b.*\bdynamic\b/), 'a sticky cookie set per replica');
    assert.ok(has(/^dynamic-cookie-key \S+/), 'dynamic cookies need a key');
    const tpl = has(/^server-template /);
    assert.ok(tpl, 'replicas found through DNS');
    const [, , slots, target] = tpl.split(/\s+/);
    assert.ok(Number(slots) >= 2, 'room for both replicas');
    assert.equal(target, `app:${loadConfig({}).port}`, 'the app service on the port it listens on');
    assert.ok(has(/^option httpchk GET \/readyz$/), 'checks readiness, so a stopping replica leaves the rotation');
    assert.ok(has(/^timeout tunnel \d+[smh]?$/), 'WebSocket tunnels are not cut at the HTTP timeouts');
    assert.ok(has(/^option redispatch$/), "a dead replica's clients go to a live one");
  });
});

describe('the deployed settings sign users in behind their proxies', () => {
  // The app's environment from docker-compose.yml and app.yaml, with the secret they get from outside.
  const composeEnv = obj(obj(obj(parseYaml(read('docker-compose.yml')), 'c').services, 's').app, 'app')
    .environment as Obj;
  const appEnv = obj(obj(parseYaml(read('app.yaml')), 'a').env_variables, 'env');
  const secret = 'c'.repeat(64);
  // Compose's interpolation of `${NAME:-default}` and `${NAME:?error}`, given only the secret.
  const given: Record<string, string> = { SESSION_SECRET: secret };
  const interpolate = (v: string): string =>
    v.replace(/\$\{(\w+)(?::([-?])([^}]*))?\}/g, (_, name: string, op?: string, rest?: string) => {
      if (given[name] !== undefined) return given[name];
      assert.notEqual(op, '?', `${name} is required by the compose file`);
      return op === '-' ? (rest ?? '') : '';
    });
  const envOf = (e: Obj): Record<string, string> => ({
    ...Object.fromEntries(Object.entries(e).map(([k, v]) => [k, interpolate(String(v))])),
    SESSION_SECRET: secret,
    // The in-process store: the cookie does not depend on it, and no Redis is needed here.
    REDIS_URL: '',
    // The check signs in through the name-only form, which production refuses unless allowed.
    AUTH: 'dev',
    ALLOW_DEV_AUTH: 'true',
  });
  const signIn = async (url: string, proto: string): Promise<string> => {
    const res = await fetch(`${url}/login`, {
      method: 'POST',
      // The browser's origin is the public one, with the scheme the proxy reports.
      headers: { 'content-type': 'application/json', 'x-forwarded-proto': proto, origin: url.replace(/^http/, proto) },
      body: JSON.stringify({ name: 'deploy-check' }),
      redirect: 'manual',
    });
    assert.equal(res.status, 303);
    return res.headers.get('set-cookie') ?? '';
  };
  let composeNode: TestServer | undefined;
  let appEngineNode: TestServer | undefined;
  before(async () => {
    composeNode = await startServer({ env: envOf(composeEnv) });
    appEngineNode = await startServer({ env: envOf(appEnv) });
  });
  after(async () => {
    await Promise.all([composeNode?.stop(), appEngineNode?.stop()]);
  });

  test('compose: HAProxy forwards plain http (X-Forwarded-Proto: http) and the session cookie is still set', async () => {
    const cfg = read('config/haproxy.cfg');
    assert.match(cfg, /http-request set-header X-Forwarded-Proto http/);
    const cookie = await signIn(composeNode!.url, 'http');
    assert.match(cookie, /^connect\.sid=/, 'docker compose up at http://localhost:8080 must be able to sign in');
  });

  test('App Engine: behind HTTPS (X-Forwarded-Proto: https) the session cookie is Secure', async () => {
    const cookie = await signIn(appEngineNode!.url, 'https');
    assert.match(cookie, /^connect\.sid=/);
    assert.match(cookie, /;\s*Secure/i);
  });
});

describe('Dockerfile', () => {
  const ins = parseDockerfile(read('Dockerfile'));
  const stages: { name: string; from: string; ins: Instruction[] }[] = [];
  for (const i of ins) {
    if (i.op === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(i.args);
      assert.ok(m, `FROM ${i.args}`);
      stages.push({ from: m[1]!, name: m[2] ?? String(stages.length), ins: [] });
    } else if (stages.length > 0) stages.at(-1)!.ins.push(i);
    else assert.equal(i.op, 'ARG', 'only ARG may precede the first FROM');
  }
  const runtime = stages.at(-1)!;
  const runs = (s: (typeof stages)[number]): string[] => s.ins.filter((i) => i.op === 'RUN').map((i) => i.args);

  test('multi-stage: a build stage with dev dependencies runs npm run build', () => {
    assert.ok(stages.length >= 2, 'at least two stages');
    const build = stages.find((s) => runs(s).some((r) => /\bnpm run build\b/.test(r)));
    assert.ok(build && build !== runtime, 'a stage other than the last builds');
    const install = runs(build).find((r) => /\bnpm ci\b/.test(r));
    assert.ok(install && !/--omit=dev|--production/.test(install), 'the build stage installs dev dependencies');
    assert.ok(
      runtime.ins.some((i) => i.op === 'COPY' && i.args.includes(`--from=${build.name}`) && /\bdist\b/.test(i.args)),
    );
  });

  test('every file the build stage copies exists and is not excluded by .dockerignore', () => {
    const ignored = read('.dockerignore')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    for (const s of stages) {
      for (const i of s.ins.filter((x) => x.op === 'COPY' && !x.args.includes('--from='))) {
        const parts = i.args.split(/\s+/).filter((p) => !p.startsWith('--'));
        for (const src of parts.slice(0, -1)) {
          assert.ok(existsSync(path.join(root, src)), `COPY ${src}: missing`);
          assert.ok(!ignored.includes(src), `COPY ${src}: excluded by .dockerignore`);
        }
      }
    }
    for (const must of ['node_modules', 'dist', '.git', '.env'])
      assert.ok(ignored.includes(must), `.dockerignore ${must}`);
  });

  test('runtime: slim Node 20, production dependencies only, non-root, the command npm start runs', () => {
    assert.match(runtime.from, /^node:(\$\{NODE_VERSION\}|20)-slim$/);
    const arg = ins.find((i) => i.op === 'ARG' && i.args.startsWith('NODE_VERSION='));
    if (runtime.from.includes('$')) assert.equal(arg?.args, 'NODE_VERSION=20');
    const install = runs(runtime).find((r) => /\bnpm ci\b/.test(r));
    assert.ok(install?.includes('--omit=dev'), 'runtime installs with --omit=dev');
    assert.ok(!runs(runtime).some((r) => /\bnpm run build\b/.test(r)), 'runtime does not build');
    const user = runtime.ins.filter((i) => i.op === 'USER').at(-1);
    assert.ok(user && !['root', '0', '0:0'].includes(user.args), 'runs as a non-root user');
    const cmd = runtime.ins.filter((i) => i.op === 'CMD').at(-1);
    assert.ok(cmd, 'the runtime stage has a CMD');
    assert.ok(cmd.args.startsWith('['), 'exec form, so node gets SIGTERM itself');
    assert.equal(commandLine(cmd.args), startCommand, 'CMD is what npm start runs');
    assert.equal(startCommand, 'node dist/main.js');
    const copied = runtime.ins.filter((i) => i.op === 'COPY').map((i) => i.args);
    for (const dir of ['dist', 'public', 'views']) {
      assert.ok(
        copied.some((c) => new RegExp(`/app/${dir} \\./${dir}$`).test(c)),
        `${dir}/ is copied from the build stage`,
      );
    }
    const env = runtime.ins.find((i) => i.op === 'ENV' && /NODE_ENV=production/.test(i.args));
    assert.ok(env, 'NODE_ENV=production');
  });

  test('exposes the default port and health-checks /healthz', () => {
    const expose = ins.filter((i) => i.op === 'EXPOSE').map((i) => i.args);
    assert.deepEqual(expose, [String(loadConfig({}).port)]);
    const hc = runtime.ins.find((i) => i.op === 'HEALTHCHECK');
    assert.ok(hc && hc.args.includes('/healthz') && hc.args.includes('process.env.PORT'));
  });
});

describe('app.yaml (App Engine flexible)', () => {
  const appYamlText = read('app.yaml');
  const app = obj(parseYaml(appYamlText), 'app.yaml');
  // Keys App Engine flexible accepts (app.yaml reference for the flexible environment).
  const ALLOWED: Record<string, Set<string> | null> = {
    runtime: null,
    env: null,
    service: null,
    service_account: null,
    entrypoint: null,
    runtime_config: new Set(['operating_system', 'runtime_version']),
    env_variables: null,
    build_env_variables: null,
    beta_settings: null,
    endpoints_api_service: new Set(['name', 'rollout_strategy', 'config_id']),
    skip_files: null,
    network: new Set([
      'name',
      'subnetwork_name',
      'instance_tag',
      'forwarded_ports',
      'session_affinity',
      'instance_ip_mode',
    ]),
    resources: new Set(['cpu', 'memory_gb', 'disk_size_gb', 'volumes']),
    automatic_scaling: new Set([
      'min_num_instances',
      'max_num_instances',
      'cool_down_period_sec',
      'cpu_utilization',
      'target_concurrent_requests',
    ]),
    manual_scaling: new Set(['instances']),
    liveness_check: new Set([
      'path',
      'check_interval_sec',
      'timeout_sec',
      'failure_threshold',
      'success_threshold',
      'initial_delay_sec',
    ]),
    readiness_check: new Set([
      'path',
      'check_interval_sec',
      'timeout_sec',
      'failure_threshold',
      'success_threshold',
      'app_start_timeout_sec',
    ]),
  };

  test('uses only keys App Engine flexible accepts', () => {
    for (const [key, value] of Object.entries(app)) {
      assert.ok(key in ALLOWED, `unknown top-level key ${key}`);
      const nested = ALLOWED[key];
      if (nested) for (const k of Object.keys(obj(value, key))) assert.ok(nested.has(k), `unknown key ${key}.${k}`);
    }
    const cpu = obj(obj(app.automatic_scaling, 'automatic_scaling').cpu_utilization, 'cpu_utilization');
    assert.deepEqual(Object.keys(cpu), ['target_utilization']);
    assert.ok(!('automatic_scaling' in app && 'manual_scaling' in app), 'one scaling mode');
  });

  test('flexible Node 20 runtime with session affinity on a named VPC network', () => {
    assert.equal(app.runtime, 'nodejs');
    assert.equal(app.env, 'flex', 'WebSockets need the flexible environment');
    const rc = obj(app.runtime_config, 'runtime_config');
    assert.equal(rc.operating_system, 'ubuntu22', 'Node 20 runs on Ubuntu 22');
    assert.equal(rc.runtime_version, '20');
    const min = /^>=\s*(\d+)/.exec(pkg.engines.node);
    assert.ok(min && Number(rc.runtime_version) >= Number(min[1]), 'satisfies package.json engines');
    const net = obj(app.network, 'network');
    assert.equal(net.session_affinity, true);
    assert.ok(typeof net.name === 'string' && net.name.length > 0, 'network.name: where Memorystore is reachable');
  });

  test('builds with gcp-build and starts with the command npm start runs', () => {
    assert.equal(pkg.scripts['gcp-build'], 'npm run build', 'App Engine runs gcp-build during deployment');
    assert.equal(app.entrypoint, startCommand);
  });

  test('health checks: liveness on /healthz, readiness on /readyz, with values in range', () => {
    const live = obj(app.liveness_check, 'liveness_check');
    const ready = obj(app.readiness_check, 'readiness_check');
    assert.equal(live.path, '/healthz');
    assert.equal(ready.path, '/readyz');
    for (const c of [live, ready]) {
      const n = (k: string): number => c[k] as number;
      assert.ok(n('check_interval_sec') >= 1 && n('check_interval_sec') <= 300);
      assert.ok(n('timeout_sec') >= 1 && n('timeout_sec') < n('check_interval_sec'), 'a check ends before the next');
      assert.ok(n('failure_threshold') >= 1 && n('failure_threshold') <= 10);
      assert.ok(n('success_threshold') >= 1 && n('success_threshold') <= 10);
    }
    assert.ok((ready.app_start_timeout_sec as number) >= 1 && (ready.app_start_timeout_sec as number) <= 1800);
    assert.ok((live.initial_delay_sec as number) >= 0 && (live.initial_delay_sec as number) <= 3600);
  });

  test('automatic scaling keeps more than one instance', () => {
    const as = obj(app.automatic_scaling, 'automatic_scaling');
    assert.ok((as.min_num_instances as number) >= 2);
    assert.ok((as.max_num_instances as number) >= (as.min_num_instances as number));
    const t = obj(as.cpu_utilization, 'cpu_utilization').target_utilization as number;
    assert.ok(t > 0 && t <= 1);
  });

  test('environment: strings the code reads, no PORT (App Engine sets it), no committed secret', () => {
    const env = obj(app.env_variables, 'env_variables');
    assert.ok(!('PORT' in env), 'PORT is set by App Engine');
    assert.ok(!('SESSION_SECRET' in env), 'SESSION_SECRET comes from Secret Manager at deploy time');
    assert.equal(env.NODE_ENV, 'production');
    for (const [name, value] of Object.entries(env)) {
      assert.equal(typeof value, 'string', `${name} must be a string`);
      assert.ok(readByCode.has(name), `${name} is not read by src/`);
    }
    assert.match(String(env.REDIS_URL), /^rediss?:\/\//);
    // The production configuration it describes passes validation once the secret is added.
    const cfg = loadConfig({ ...(env as Record<string, string>), SESSION_SECRET: 'x'.repeat(32), PORT: '8080' });
    assert.equal(cfg.production, true);
    assert.ok(cfg.trustProxy === 1 || cfg.trustProxy === true, 'trusts the App Engine front end');
  });

  test('the documented deploy step (append SESSION_SECRET at the end) lands in env_variables', () => {
    assert.equal(Object.keys(app).at(-1), 'env_variables', 'env_variables must stay the last block');
    const deployed = obj(
      parseYaml(`${appYamlText.replace(/\n*$/, '\n')}  SESSION_SECRET: "${'ab'.repeat(32)}"\n`),
      'x',
    );
    assert.equal(obj(deployed.env_variables, 'env').SESSION_SECRET, 'ab'.repeat(32));
    assert.match(read('docs/deploy.md'), /printf ' {2}SESSION_SECRET: "%s"\\n' "\$\$SESSION_SECRET" >> app\.yaml/);
  });

  describe('health routes are served by the app', () => {
    let server: TestServer | undefined;
    before(async () => {
      if (!existsSync(path.join(root, 'dist', 'main.js'))) throw new Error('dist/main.js missing: npm run build first');
      server = await startServer();
    });
    after(async () => {
      await server?.stop();
    });
    test('GET liveness and readiness paths answer 200 on a healthy node', async () => {
      for (const key of ['liveness_check', 'readiness_check']) {
        const p = obj(app[key], key).path as string;
        const res = await fetch(`${server!.url}${p}`);
        assert.equal(res.status, 200, `${key} ${p}`);
        assert.deepEqual(await res.json(), { status: 'ok' });
      }
    });
    test("the image's HEALTHCHECK command passes against it and fails where nothing answers", async () => {
      const hc = parseDockerfile(read('Dockerfile')).find((i) => i.op === 'HEALTHCHECK')!;
      const argv = JSON.parse(hc.args.slice(hc.args.indexOf('CMD') + 3).trim()) as string[];
      assert.equal(argv[0], 'node');
      const runCheck = (port: number): Promise<number | null> =>
        new Promise((resolve) => {
          const p = spawn(process.execPath, argv.slice(1), { env: { ...process.env, PORT: String(port) } });
          p.once('exit', (code) => resolve(code));
        });
      assert.equal(await runCheck(server!.port), 0);
      assert.equal(await runCheck(await freePort()), 1);
    });
  });
});

describe('config/redis.conf', () => {
  const directives = new Map<string, string[]>();
  for (const line of read('config/redis.conf').split('\n')) {
    const l = line.trim();
    if (!l || l.startsWith('#')) continue;
    const [k, ...rest] = l.split(/\s+/);
    directives.set(k!.toLowerCase(), [...(directives.get(k!.toLowerCase()) ?? []), rest.join(' ')]);
  }
  const one = (k: string): string | undefined => directives.get(k)?.at(-1);

  test('durable: append-only with an fsync policy, and no eviction', () => {
    assert.equal(one('appendonly'), 'yes');
    assert.ok(['always', 'everysec'].includes(one('appendfsync') ?? ''), 'fsync always or every second');
    assert.equal(one('maxmemory-policy'), 'noeviction', 'a store must not drop keys');
    assert.equal(one('no-appendfsync-on-rewrite'), 'no');
    assert.ok(!directives.has('dir'), 'no dir: the image working directory /data (the volume) is used');
  });

  describe('loaded by a real redis-server', { skip: redisServerSkip }, () => {
    let dir = '';
    let port = 0;
    const run = async (): Promise<{ stop(signal: NodeJS.Signals): Promise<void>; out: string[] }> => {
      const proc = spawn(redisServerBin, ['./redis.conf', '--port', String(port), '--bind', '127.0.0.1'], {
        cwd: dir,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const out: string[] = [];
      proc.stdout.on('data', (d: Buffer) => out.push(d.toString()));
      proc.stderr.on('data', (d: Buffer) => out.push(d.toString()));
      const exited = new Promise<void>((r) => proc.once('exit', () => r()));
      const end = Date.now() + 10_000;
      while (!out.join('').includes('Ready to accept connections')) {
        if (proc.exitCode !== null || Date.now() > end) throw new Error(`redis-server did not start:\n${out.join('')}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      return {
        out,
        async stop(signal) {
          proc.kill(signal);
          await exited;
        },
      };
    };
    before(async () => {
      dir = mkdtempSync(path.join(os.tmpdir(), 'chat-redis-conf-'));
      writeFileSync(path.join(dir, 'redis.conf'), read('config/redis.conf'));
      port = await freePort();
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    test('every directive is accepted, and writes survive SIGKILL of Redis (AOF replay)', async () => {
      const first = await run();
      const c = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 1 });
      c.on('error', () => {});
      await c.connect();
      assert.equal(await c.config('GET', 'maxmemory-policy').then((r) => (r as string[])[1]), 'noeviction');
      assert.equal(await c.config('GET', 'appendonly').then((r) => (r as string[])[1]), 'yes');
      const n = 200;
      for (let i = 0; i < n; i++) await c.rpush('history', `m${i}`);
      c.disconnect();
      // SIGKILL: no shutdown save. Only the append-only file can bring these back.
      await first.stop('SIGKILL');
      const second = await run();
      const c2 = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 1 });
      c2.on('error', () => {});
      await c2.connect();
      const kept = await c2.lrange('history', 0, -1);
      c2.disconnect();
      await second.stop('SIGTERM');
      console.log(`redis.conf: wrote ${n}, after SIGKILL and restart found ${kept.length}`);
      assert.deepEqual(
        kept,
        Array.from({ length: n }, (_, i) => `m${i}`),
      );
      assert.match(second.out.join(''), /DB loaded from (append only file|base file)|Reading the remaining AOF tail/);
    });
  });
});
