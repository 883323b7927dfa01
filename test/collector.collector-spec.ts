import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import { eventually, getAgent } from './support/agents-api';
import { Json, restClient } from './support/rest-client';
import { startTestServer, TestServer } from './support/test-server';
import { InteropResults } from './support/interop-results';

/** Rows of the interop matrix (scripts/interop-matrix.js): the Collector under its supervisor, both v0.149.0. */
const results = new InteropResults('collector otelcol + opampsupervisor', 'v0.149.0');
import { CollectorBinaries, collectorBinaries, freePort, SupervisedCollector } from './interop/collector/supervised-collector';

/**
 * Interop tier: OpAMP Commander manages a real OpenTelemetry Collector (built with the
 * Collector builder: opamp + health_check extensions, OTLP receiver, debug and OTLP/HTTP exporters) through the
 * contrib `opampsupervisor`, over WebSocket and then over plain HTTP. Versions:
 * test/interop/collector/versions.env. Run with `npm run test:collector`; docs/interop.md, "A real
 * OpenTelemetry Collector".
 */

/** A small OTLP/HTTP receiver: counts the POSTs to /v1/metrics (the Collector's own metrics). */
class OwnMetricsReceiver {
  readonly posts: { contentType: string; bytes: number; userAgent: string }[] = [];
  private readonly server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method === 'POST' && req.url === '/v1/metrics') {
        this.posts.push({
          contentType: String(req.headers['content-type'] ?? ''),
          bytes: Buffer.concat(chunks).length,
          userAgent: String(req.headers['user-agent'] ?? ''),
        });
        // An empty ExportMetricsServiceResponse is zero protobuf bytes.
        res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
      } else {
        res.writeHead(404).end();
      }
    });
  });
  port = 0;

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
    return this;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** POSTs an empty OTLP metrics export to a receiver; resolves with the HTTP status (0: refused). */
async function otlpExport(port: number, kind: 'json' | 'protobuf' = 'json'): Promise<number> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/v1/metrics`, {
      method: 'POST',
      headers: { 'content-type': kind === 'json' ? 'application/json' : 'application/x-protobuf' },
      body: kind === 'json' ? '{}' : new Uint8Array(0), // an empty ExportMetricsServiceRequest
      signal: AbortSignal.timeout(5000),
    });
    await res.arrayBuffer();
    return res.status;
  } catch {
    return 0;
  }
}

/** POSTs `points` gauge data points (OTLP JSON) to a receiver; resolves with the HTTP status (0: refused). */
async function otlpPoints(port: number, points: number): Promise<number> {
  const now = String(BigInt(Date.now()) * 1_000_000n);
  const body = {
    resourceMetrics: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'interop-load' } }] },
        scopeMetrics: [
          {
            metrics: [
              {
                name: 'interop.load',
                gauge: {
                  dataPoints: Array.from({ length: points }, (_, i) => ({
                    timeUnixNano: now,
                    asInt: String(i),
                    attributes: [{ key: 'i', value: { intValue: String(i) } }],
                  })),
                },
              },
            ],
          },
        ],
      },
    ],
  };
  try {
    const res = await fetch(`http://127.0.0.1:${port}/v1/metrics`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(5000),
    });
    await res.arrayBuffer();
    return res.status;
  } catch {
    return 0;
  }
}

/** Sends `points` data points to the Collector's OTLP receiver every 250 ms until stopped. */
function pumpTraffic(port: number, points = 20): { stop(): Promise<void>; statuses: number[] } {
  const statuses: number[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      statuses.push(await otlpPoints(port, points));
      await new Promise((r) => setTimeout(r, 250));
    }
  })();
  return {
    statuses,
    async stop() {
      running = false;
      await loop;
    },
  };
}

async function httpStatus(url: string): Promise<number> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
    await res.arrayBuffer();
    return res.status;
  } catch {
    return 0;
  }
}

/**
 * A Collector config whose only exporter sends to `closedPort`, where nothing listens: every send
 * fails at once (no retries), while the receiver keeps accepting into the exporter's queue.
 */
function failingExportConfig(otlpPort: number, healthPort: number, closedPort: number): string {
  return collectorConfig(otlpPort, healthPort)
    .replace('  debug: {}\n', `  otlphttp:\n    endpoint: http://127.0.0.1:${closedPort}\n    retry_on_failure:\n      enabled: false\n`)
    .replace('exporters: [debug]', 'exporters: [otlphttp]');
}

/** The Collector config the group delivers: an OTLP/HTTP receiver on a known port, a debug exporter, health_check. */
function collectorConfig(otlpPort: number, healthPort: number, extraReceiver?: string): string {
  return collectorConfigOn(`127.0.0.1:${otlpPort}`, `127.0.0.1:${healthPort}`, extraReceiver);
}

/** The same config with the receiver and health_check on the given addresses (`127.0.0.1:0`: a free port each). */
function collectorConfigOn(otlpAddress: string, healthAddress: string, extraReceiver?: string): string {
  return [
    'receivers:',
    '  otlp:',
    '    protocols:',
    '      http:',
    `        endpoint: ${otlpAddress}`,
    ...(extraReceiver ? [`  ${extraReceiver}: {}`] : []),
    'exporters:',
    '  debug: {}',
    'extensions:',
    '  health_check:',
    `    endpoint: ${healthAddress}`,
    'service:',
    '  extensions: [health_check]',
    '  pipelines:',
    '    metrics:',
    `      receivers: [otlp${extraReceiver ? `, ${extraReceiver}` : ''}]`,
    '      exporters: [debug]',
    '',
  ].join('\n');
}

const effectiveBody = (agent: Json): string => agent.status?.effectiveConfig?.configMap?.['']?.body ?? '';
/** True when the text names 127.0.0.1:PORT (and not a longer port number that starts with it). */
const mentions = (text: string, port: number): boolean => new RegExp(`127\\.0\\.0\\.1:${port}(?!\\d)`).test(text);
const startTimeOf = (agent: Json): number => (agent.status?.health?.startTime ? Date.parse(agent.status.health.startTime) : 0);

describe('a real OpenTelemetry Collector managed through the OpAMP supervisor', () => {
  let bins: CollectorBinaries;
  let server: TestServer;
  let api: ReturnType<typeof restClient>;

  beforeAll(async () => {
    bins = collectorBinaries(); // cold: many minutes; cached: well under a second
    server = await startTestServer({
      // Heartbeats (and HTTP polls) every second, offered to every agent: the supervisor's own default is 30 s.
      OPAMP_OFFER_HEARTBEAT_INTERVAL_SECONDS: '1',
      OPAMP_HEARTBEAT_INTERVAL_SECONDS: '5',
      // Conditions of the agents' own telemetry on a test's time scale (defaults: 600 s and 300 s).
      TELEMETRY_IDLE_SECONDS: '10',
      TELEMETRY_EXPORT_FAILING_SECONDS: '15',
    });
    api = restClient(server);
  }, 60 * 60_000);

  afterAll(async () => {
    await server?.close();
  });

  describe.each([
    ['WebSocket', 'ws', 'websocket'],
    ['HTTP', 'http', 'http'],
  ] as const)('over %s', (_label, scheme, transport) => {
    const run = `interop-${scheme}-${randomBytes(3).toString('hex')}`;
    const configName = `collector-${scheme}`;
    const groupName = `collectors-${scheme}`;
    let sup: SupervisedCollector;
    let otlpPort: number;
    let healthPort: number;
    let goodHash: string;
    let badHash: string;
    let crashHash: string;
    /** The config whose exporter fails (4c, WebSocket only). */
    let exportHash: string;
    const metrics = new OwnMetricsReceiver();

    const agent = async () => (await getAgent(server, sup.uid)).body;
    /** Waits until the stored agent satisfies `ok`; on time-out fails with the agent and both logs. */
    async function until(what: string, ok: (a: Json) => boolean, timeoutMs = 60_000): Promise<Json> {
      const a = await eventually(agent, ok, timeoutMs);
      if (!ok(a)) throw new Error(`timed out waiting for: ${what}\nagent: ${JSON.stringify(a.status, null, 1).slice(0, 6000)}\n${sup.tail()}`);
      return a;
    }
    /**
     * The config map hash the server wants the agent to run. The server refreshes its desired
     * state just after a write is answered, so wait for the value the change should produce.
     */
    const desiredHash = (ok: (h: string | undefined) => boolean) =>
      eventually(async () => (await api('GET', `/agents/${sup.uid}/desired-config`)).body?.hash as string | undefined, ok, 10_000);

    beforeAll(async () => {
      otlpPort = await freePort();
      healthPort = await freePort();
      await metrics.start();
    });

    afterAll(async () => {
      // COLLECTOR_INTEROP_KEEP=1 keeps the supervisor's directory (config, storage, agent.log) and its log.
      const keep = !!process.env.COLLECTOR_INTEROP_KEEP;
      if (sup && keep) fs.writeFileSync(`${sup.dir}/supervisor.log`, sup.log);
      await sup?.stop(keep); // a no-op when scenario 7 stopped it
      if (sup && keep) process.stderr.write(`collector interop (${scheme}): kept ${sup.dir}\n`);
      await metrics.close();
    });

    it(
      '1. the supervisor connects and the agent appears with description, available components, health and effective config',
      results.scenario(transport, 'discovery', async () => {
        sup = await new SupervisedCollector(bins, {
          endpoint: `${scheme}://127.0.0.1:${server.opampPort}/v1/opamp`,
          nonIdentifyingAttributes: { 'interop.run': run },
        }).start();

        const found = await eventually(
          () => api('GET', `/agents?search=${encodeURIComponent(run)}`),
          (r) => r.status === 200 && r.body.items.length === 1,
          60_000,
        );
        expect(found.body.items).toHaveLength(1);
        expect(found.body.items[0].metadata.instanceUid).toBe(sup.uid);

        const a = await until(
          'healthy with a start time, with effective config and available components',
          // The supervisor may first report its own healthy status without the Collector's start time; the
          // Collector's health (with start_time) follows in a later message.
          (x) =>
            x.status?.health?.healthy === true && !!x.status?.health?.startTime && effectiveBody(x).includes('opamp') && !!x.status?.availableComponents?.hash,
        );
        expect(a.status.connected).toBe(true);
        expect(a.status.connection.transport).toBe(transport);
        // Identifying attributes come from the Collector's build info; the supervisor adds ours.
        expect(a.status.description.identifyingAttributes).toMatchObject({
          'service.name': 'otelcol-interop',
          'service.version': '0.149.0-interop',
          'service.instance.id': sup.uid,
        });
        expect(a.status.description.nonIdentifyingAttributes).toMatchObject({ 'interop.run': run, 'os.type': 'linux' });
        expect(a.status.capabilities.names).toEqual(
          expect.arrayContaining([
            'ReportsStatus',
            'AcceptsRemoteConfig',
            'ReportsRemoteConfig',
            'ReportsEffectiveConfig',
            'ReportsHealth',
            'ReportsOwnMetrics',
            'AcceptsRestartCommand',
            'ReportsAvailableComponents',
            'ReportsHeartbeat',
          ]),
        );
        // The REST API exposes only the hash of the available components (the catalogue is stored by hash).
        expect(a.status.availableComponents.hash).toMatch(/^[0-9a-f]{16,}$/);
        // Before any remote config the supervisor runs the Collector with its opamp extension only.
        expect(effectiveBody(a)).toMatch(/extensions:[\s\S]*opamp/);
        expect(a.status.health.startTime).toBeTruthy();
      }),
    );

    it(
      '2. a group selecting it delivers a YAML config with an OTLP receiver: the Collector restarts with it, APPLIED, and the port accepts OTLP',
      results.scenario(transport, 'config apply', async () => {
        const before = startTimeOf(await agent());
        expect(await otlpExport(otlpPort)).toBe(0); // nothing listens there yet

        const rc = await api('POST', '/remoteconfigs', {
          metadata: { name: configName },
          spec: { contentType: 'application/yaml', body: collectorConfig(otlpPort, healthPort) },
        });
        expect(rc.status).toBe(201);
        const group = await api('POST', '/agentgroups', {
          kind: 'AgentGroup',
          apiVersion: 'v1',
          metadata: { name: groupName },
          spec: { selector: `interop.run=${run}`, configs: [{ fileName: '', remoteConfig: configName }] },
        });
        expect(group.status).toBe(201);
        goodHash = (await desiredHash((h) => !!h)) ?? '';
        expect(goodHash).toMatch(/^[0-9a-f]{64}$/);

        const a = await until(
          'APPLIED of the group config',
          (x) => x.status?.remoteConfigStatus?.status === 'APPLIED' && x.status.remoteConfigStatus.lastRemoteConfigHash === goodHash,
        );
        expect(a.status.remoteConfigStatus.errorMessage ?? '').toBe('');
        const eff = await until('effective config with the receiver', (x) => mentions(effectiveBody(x), otlpPort) && x.status?.health?.healthy === true);
        expect(effectiveBody(eff)).toMatch(/receivers:[\s\S]*otlp/);
        expect(startTimeOf(eff)).toBeGreaterThan(before); // a new Collector process
        // What the supervisor runs is its merge of our config with its own extensions and telemetry settings: judged
        // by its pipelines, that is the config it was sent, so no ConfigDrift (issue 20).
        const judged = await until('ConfigDrift judged on the merged effective config', (x) =>
          (x.status?.conditions ?? []).some((c: { type: string }) => c.type === 'ConfigDrift'),
        );
        expect(judged.status.conditions.find((c: { type: string }) => c.type === 'ConfigDrift')).toMatchObject({
          status: 'False',
          reason: 'RunsDesiredConfig',
        });

        expect(await otlpExport(otlpPort, 'json')).toBe(200);
        expect(await otlpExport(otlpPort, 'protobuf')).toBe(200);
        expect(await httpStatus(`http://127.0.0.1:${healthPort}/`)).toBe(200);
        const counts = await eventually(
          () => api('GET', `/agentgroups/${groupName}`),
          (r) => r.body.status?.config?.applied === 1,
        );
        expect(counts.body.status.config).toMatchObject({ applied: 1, failed: 0 });
      }),
    );

    it(
      "3. an invalid config is reported FAILED with the Collector's message, and the previous config keeps running",
      results.scenario(transport, 'failure', async () => {
        const before = await agent();
        const cur = (await api('GET', `/remoteconfigs/${configName}`)).body;
        const res = await api('PUT', `/remoteconfigs/${configName}`, {
          ...cur,
          spec: { ...cur.spec, body: collectorConfig(otlpPort, healthPort, 'nosuchreceiver') },
        });
        expect(res.status).toBe(200);
        badHash = (await desiredHash((h) => h !== goodHash)) ?? '';
        expect(badHash).toMatch(/^[0-9a-f]{64}$/);

        const a = await until(
          'FAILED for the invalid config',
          (x) => x.status?.remoteConfigStatus?.status === 'FAILED' && x.status.remoteConfigStatus.lastRemoteConfigHash === badHash,
        );
        // The supervisor ran `otelcol-interop validate` and reports its output.
        expect(a.status.remoteConfigStatus.errorMessage).toMatch(/validation failed/);
        expect(a.status.remoteConfigStatus.errorMessage).toMatch(/nosuchreceiver/);
        expect(a.status.remoteConfigStatus.errorMessage).toMatch(/unknown type/);
        // The running Collector was not touched.
        expect(await otlpExport(otlpPort)).toBe(200);
        expect(startTimeOf(a)).toBe(startTimeOf(before));
        expect(a.status.health.healthy).toBe(true);
        expect(mentions(effectiveBody(a), otlpPort)).toBe(true);
        expect(effectiveBody(a)).not.toContain('nosuchreceiver');
        const counts = await eventually(
          () => api('GET', `/agentgroups/${groupName}`),
          (r) => r.body.status?.config?.failed === 1,
        );
        expect(counts.body.status.config).toMatchObject({ failed: 1 });
      }),
    );

    it(
      '4. rollback to revision 1 is APPLIED again',
      results.scenario(transport, 'rollback', async () => {
        const rolled = await api('POST', `/remoteconfigs/${configName}/rollback`, { revision: 1 });
        expect(rolled.status).toBe(200);
        expect(rolled.body.status.latestRevision).toBe(3);
        expect(await desiredHash((h) => h === goodHash)).toBe(goodHash); // same content as revision 1, same hash
        const a = await until(
          'APPLIED after rollback',
          (x) => x.status?.remoteConfigStatus?.status === 'APPLIED' && x.status.remoteConfigStatus.lastRemoteConfigHash === goodHash,
        );
        expect(a.status.health.healthy).toBe(true);
        expect(await otlpExport(otlpPort)).toBe(200);
      }),
    );

    it(
      '4a. a valid config that cannot run (its port is taken) is reported FAILED when the Collector exits, never sent again, and a rollback recovers',
      results.scenario(transport, 'failure at run time', async () => {
        // Something else holds the port: validation passes, the Collector exits at start, and the
        // supervisor (v0.149.0 keeps the failing config and restarts the Collector every 5 s; it has
        // no runtime rollback to the previous config) reports FAILED for the new hash.
        const blocker = net.createServer();
        await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', () => resolve()));
        const takenPort = (blocker.address() as net.AddressInfo).port;
        try {
          const cur = (await api('GET', `/remoteconfigs/${configName}`)).body;
          const res = await api('PUT', `/remoteconfigs/${configName}`, { ...cur, spec: { ...cur.spec, body: collectorConfig(takenPort, healthPort) } });
          expect(res.status).toBe(200);
          crashHash = (await desiredHash((h) => h !== goodHash && h !== badHash)) ?? '';
          expect(crashHash).toMatch(/^[0-9a-f]{64}$/);
          const failed = await until(
            'FAILED for the config whose Collector exits',
            (x) => x.status?.remoteConfigStatus?.status === 'FAILED' && x.status.remoteConfigStatus.lastRemoteConfigHash === crashHash,
          );
          expect(failed.status.remoteConfigStatus.errorMessage).toMatch(/exit/i);
          // The server remembers it: this hash is never pushed to this agent again.
          expect(failed.status.remoteConfig.failedHashes).toContain(crashHash);
          const sick = await until('unhealthy while the Collector cannot start', (x) => x.status?.health?.healthy === false);
          expect(sick.status.health.lastError).toMatch(/exited unexpectedly/);
          const counts = await eventually(
            () => api('GET', `/agentgroups/${groupName}`),
            (r) => r.body.status?.config?.failed === 1,
          );
          expect(counts.body.status.config).toMatchObject({ failed: 1, applied: 0 });

          const rolled = await api('POST', `/remoteconfigs/${configName}/rollback`, { revision: 1 });
          expect(rolled.status).toBe(200);
          const a = await until(
            'APPLIED and healthy after rolling back from the config that could not run',
            (x) =>
              x.status?.remoteConfigStatus?.status === 'APPLIED' &&
              x.status.remoteConfigStatus.lastRemoteConfigHash === goodHash &&
              x.status?.health?.healthy === true,
          );
          expect(mentions(effectiveBody(a), otlpPort)).toBe(true);
          expect(
            await eventually(
              () => otlpExport(otlpPort),
              (st) => st === 200,
              30_000,
            ),
          ).toBe(200);
        } finally {
          blocker.close();
        }
      }),
    );

    // The agents' own telemetry does not depend on the OpAMP transport: proven over WebSocket only.
    const overWebSocket = transport === 'websocket' ? it : it.skip;
    const telemetry = async () => (await api('GET', `/agents/${sup.uid}/telemetry`)).body;
    const condition = (conditions: { type: string; status: string; reason: string }[] | undefined, type: string) => conditions?.find((c) => c.type === type);

    overWebSocket(
      "4b. by the server's own offer the Collector sends its own metrics here: what its receiver accepts and its exporter sends appear as rates, and it turns Idle once the traffic stops",
      results.scenario(transport, 'own telemetry', async () => {
        const pump = pumpTraffic(otlpPort);
        let busy: Json;
        try {
          busy = await eventually(telemetry, (t) => t.status?.current?.acceptedPerSecond > 0 && t.status.current.sentPerSecond > 0, 90_000);
        } finally {
          await pump.stop();
        }
        if (!(busy.status?.current?.acceptedPerSecond > 0))
          throw new Error(`no rates from the Collector's own metrics: ${JSON.stringify(busy).slice(0, 3000)}\n${sup.tail()}`);
        expect(pump.statuses.filter((st) => st !== 200)).toEqual([]);
        expect(busy.status.held).not.toBe(false);
        expect(busy.status.current).toMatchObject({ exportFailureRatio: 0 });
        expect(busy.status.current.rssBytes).toBeGreaterThan(1_000_000);
        expect(busy.status.current.uptimeSeconds).toBeGreaterThan(0);
        // The series name the Collector's own receiver and exporter.
        const series = (busy.status.window.series as { family: string; component?: string }[]).map((x) => `${x.family}:${x.component ?? ''}`);
        expect(series).toEqual(expect.arrayContaining(['receiver_accepted:otlp', 'exporter_sent:debug']));
        expect(condition(busy.status.conditions, 'Idle')).toMatchObject({ status: 'False', reason: 'ItemsAccepted' });

        // No more traffic: after TELEMETRY_IDLE_SECONDS of reports with nothing accepted, Idle, on the agent resource too.
        const idle = await eventually(telemetry, (t) => condition(t.status?.conditions, 'Idle')?.status === 'True', 90_000);
        expect(condition(idle.status.conditions, 'Idle')).toMatchObject({ status: 'True' });
        const a = await until('Idle on the agent resource', (x) => condition(x.status?.conditions, 'Idle')?.status === 'True');
        expect(a.status.health.healthy).toBe(true);
      }),
    );

    overWebSocket(
      '4c. a config whose exporter points at a closed port turns ExportFailing on; rolling back to revision 1 turns it off',
      results.scenario(transport, 'own telemetry', async () => {
        const closedPort = await freePort();
        const cur = (await api('GET', `/remoteconfigs/${configName}`)).body;
        const res = await api('PUT', `/remoteconfigs/${configName}`, {
          ...cur,
          spec: { ...cur.spec, body: failingExportConfig(otlpPort, healthPort, closedPort) },
        });
        expect(res.status).toBe(200);
        exportHash = (await desiredHash((h) => h !== goodHash && h !== badHash && h !== crashHash)) ?? '';
        await until(
          'APPLIED and healthy with the failing exporter',
          (x) =>
            x.status?.remoteConfigStatus?.status === 'APPLIED' &&
            x.status.remoteConfigStatus.lastRemoteConfigHash === exportHash &&
            x.status?.health?.healthy === true,
        );
        const pump = pumpTraffic(otlpPort);
        let failing: Json;
        try {
          failing = await eventually(telemetry, (t) => condition(t.status?.conditions, 'ExportFailing')?.status === 'True', 90_000);
        } finally {
          await pump.stop();
        }
        if (condition(failing.status?.conditions, 'ExportFailing')?.status !== 'True')
          throw new Error(`ExportFailing never turned on: ${JSON.stringify(failing).slice(0, 3000)}\n${sup.tail()}`);
        expect(failing.status.current.sendFailedPerSecond).toBeGreaterThan(0);
        expect(failing.status.current.exportFailureRatio).toBeGreaterThan(0.5);
        await until('ExportFailing on the agent resource', (x) => condition(x.status?.conditions, 'ExportFailing')?.status === 'True');

        const rolled = await api('POST', `/remoteconfigs/${configName}/rollback`, { revision: 1 });
        expect(rolled.status).toBe(200);
        await until(
          'APPLIED and healthy after rolling back from the failing exporter',
          (x) =>
            x.status?.remoteConfigStatus?.status === 'APPLIED' &&
            x.status.remoteConfigStatus.lastRemoteConfigHash === goodHash &&
            x.status?.health?.healthy === true,
        );
        const pump2 = pumpTraffic(otlpPort);
        try {
          const ok = await eventually(telemetry, (t) => condition(t.status?.conditions, 'ExportFailing')?.status === 'False', 90_000);
          expect(condition(ok.status.conditions, 'ExportFailing')).toMatchObject({ status: 'False' });
        } finally {
          await pump2.stop();
        }
      }),
    );

    it(
      '5. own-metrics connection settings make the Collector send its own metrics to an OTLP/HTTP receiver',
      results.scenario(transport, 'connection settings', async () => {
        const cur = (await api('GET', `/agentgroups/${groupName}`)).body;
        const endpoint = `http://127.0.0.1:${metrics.port}/v1/metrics`;
        const res = await api('PUT', `/agentgroups/${groupName}`, { ...cur, spec: { ...cur.spec, connectionSettings: { ownMetrics: { endpoint } } } });
        expect(res.status).toBe(200);

        // The supervisor rewrites the Collector's telemetry section and restarts it.
        const a = await until(
          'effective config with the own-metrics exporter',
          (x) => mentions(effectiveBody(x), metrics.port) && x.status?.health?.healthy === true,
        );
        expect(effectiveBody(a)).toMatch(/periodic/);
        const deadline = Date.now() + 60_000;
        while (metrics.posts.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
        if (metrics.posts.length === 0) throw new Error(`no own metrics arrived at ${endpoint}\n${sup.tail()}`);
        expect(metrics.posts[0].contentType).toBe('application/x-protobuf');
        expect(metrics.posts[0].bytes).toBeGreaterThan(0);
        // The remote config is untouched and still APPLIED; the receiver still runs.
        const after = await until('APPLIED still', (x) => x.status?.remoteConfigStatus?.status === 'APPLIED');
        expect(after.status.remoteConfigStatus.lastRemoteConfigHash).toBe(goodHash);
        expect(await otlpExport(otlpPort)).toBe(200);
      }),
    );

    it(
      '6. a restart command restarts the Collector, which reports healthy again',
      results.scenario(transport, 'restart command', async () => {
        const before = await until('healthy before restart', (x) => x.status?.health?.healthy === true && x.status?.connected === true);
        const started = startTimeOf(before);
        const res = await api('POST', `/agents/${sup.uid}/restart`);
        expect(res.status).toBe(202);
        expect(res.body).toMatchObject({ accepted: true, delivery: transport === 'http' ? 'next-poll' : 'sent' });

        const a = await until('a new healthy Collector process', (x) => startTimeOf(x) > started && x.status?.health?.healthy === true);
        expect(a.status.remoteConfigStatus).toMatchObject({ status: 'APPLIED', lastRemoteConfigHash: goodHash });
        expect(
          await eventually(
            () => httpStatus(`http://127.0.0.1:${healthPort}/`),
            (s) => s === 200,
            30_000,
          ),
        ).toBe(200);
        expect(
          await eventually(
            () => otlpExport(otlpPort),
            (s) => s === 200,
            30_000,
          ),
        ).toBe(200);
        expect(sup.running).toBe(true);
      }),
    );

    it(
      '7. every config was delivered exactly when it changed, and a stopped supervisor shows as disconnected',
      results.scenario(transport, 'disconnect', async () => {
        // Hash-gated delivery: revision 1, the invalid revision 2, revision 1 again after the
        // rollback, the config that could not run, revision 1 again; heartbeats, polls, FAILED, the
        // Collector's crash loop, own-metrics settings and the restart resent nothing.
        const received = [...sup.log.matchAll(/"msg":"Received remote config from server"[^\n]*?"hash":"([0-9a-f]+)"/g)].map((m) => m[1]);
        expect(received).toEqual([goodHash, badHash, goodHash, crashHash, goodHash, ...(transport === 'websocket' ? [exportHash, goodHash] : [])]);
        // SIGINT: the supervisor stops the Collector (no Collector of this run outlives it) and leaves.
        expect(await sup.stop(!!process.env.COLLECTOR_INTEROP_KEEP)).toEqual([]);
        // WebSocket: at once; HTTP (opamp-go sends no agent_disconnect): after 3 missed polls of OPAMP_HEARTBEAT_INTERVAL_SECONDS.
        const a = await until('disconnected', (x) => x.status?.connected === false, 30_000);
        // A silent HTTP agent is disconnected by derivation (no write), so only WebSocket has disconnectedAt.
        if (transport === 'websocket') expect(a.status.connection.disconnectedAt).toBeTruthy();
        else expect(Date.parse(a.status.connection.lastSeenAt)).toBeLessThan(Date.now() - 10_000);
      }),
    );

    overWebSocket(
      "8. a supervisor whose local config file wins over the remote config's pipeline (the merge drops its receiver and exporter) is judged ConfigDrift True, and the group counts it drifted",
      results.scenario(transport, 'config drift', async () => {
        // An operator's local file, merged after the remote config: the metrics pipeline runs nop → nop.
        const override = [
          'receivers:',
          '  nop: {}',
          'exporters:',
          '  nop: {}',
          'service:',
          '  pipelines:',
          '    metrics:',
          '      receivers: [nop]',
          '      exporters: [nop]',
          '',
        ].join('\n');
        sup = await new SupervisedCollector(bins, {
          endpoint: `${scheme}://127.0.0.1:${server.opampPort}/v1/opamp`,
          nonIdentifyingAttributes: { 'interop.run': run },
          localOverride: override,
        }).start();
        const a = await until(
          'APPLIED of the group config, merged under the local file',
          (x) =>
            x.status?.remoteConfigStatus?.status === 'APPLIED' && x.status.remoteConfigStatus.lastRemoteConfigHash === goodHash && /nop/.test(effectiveBody(x)),
          90_000,
        );
        expect(a.status.remoteConfigStatus.errorMessage ?? '').toBe('');
        const drifted = await until('ConfigDrift True', (x) => condition(x.status?.conditions, 'ConfigDrift')?.status === 'True');
        expect(condition(drifted.status.conditions, 'ConfigDrift')).toMatchObject({ status: 'True', reason: 'ComponentMissing' });
        expect((drifted.status.conditions as { type: string; message: string }[]).find((c) => c.type === 'ConfigDrift')?.message).toMatch(
          /receiver otlp of pipeline metrics is not in its effective config/,
        );
        // The group says so: APPLIED, yet drifted (the stopped supervisor of step 7 is no longer governed as connected).
        const counts = await eventually(
          () => api('GET', `/agentgroups/${groupName}`),
          (r) => r.body.status?.config?.drifted === 1,
        );
        expect(counts.body.status.config).toMatchObject({ drifted: 1 });
        const listed = await api('GET', `/agents?condition=ConfigDrift&selector=${encodeURIComponent(`interop.run=${run}`)}`);
        expect(listed.body.items.map((x: { metadata: { name: string } }) => x.metadata.name)).toEqual([sup.uid]);
        expect(await sup.stop(!!process.env.COLLECTOR_INTEROP_KEEP)).toEqual([]);
      }),
    );

    overWebSocket(
      '9. a rollout to two Collectors: a revision the Collector rejects fails on the canary and rolls back, the other never receives it; a good revision goes 1 → 100% and succeeds',
      results.scenario(transport, 'rollout', async () => {
        const fleet = `${run}-ro`;
        const rcName = `collector-ro-${scheme}`;
        const roGroup = `collectors-ro-${scheme}`;
        // Ports 0: two Collectors on one machine, each binding ports of its own.
        const body = (extra = '') => collectorConfigOn('127.0.0.1:0', '127.0.0.1:0', extra);
        expect((await api('POST', '/remoteconfigs', { metadata: { name: rcName }, spec: { contentType: 'application/yaml', body: body() } })).status).toBe(201);
        const created = await api('POST', '/agentgroups', {
          kind: 'AgentGroup',
          apiVersion: 'v1',
          metadata: { name: roGroup },
          spec: { selector: `interop.run=${fleet}`, configs: [{ fileName: '', remoteConfig: rcName, revision: 1 }] },
        });
        expect(created.status).toBe(201);
        // One after the other: a supervisor's bootstrap run of the Collector binds the default telemetry port
        // (localhost:8888), so two bootstrapping at once collide; once an agent is known its bootstrap is over.
        const sups: SupervisedCollector[] = [];
        for (const i of [0, 1]) {
          const x = await new SupervisedCollector(bins, {
            endpoint: `${scheme}://127.0.0.1:${server.opampPort}/v1/opamp`,
            nonIdentifyingAttributes: { 'interop.run': fleet, 'interop.member': String(i) },
          }).start();
          sups.push(x);
          await eventually(
            () => getAgent(server, x.uid),
            (r) => r.status === 200 && !!r.body.status?.description,
            60_000,
          );
        }
        const received = (x: SupervisedCollector) =>
          [...x.log.matchAll(/"msg":"Received remote config from server"[^\n]*?"hash":"([0-9a-f]+)"/g)].map((m) => m[1]);
        const stateOf = async (x: SupervisedCollector) => (await getAgent(server, x.uid)).body.status?.remoteConfigStatus;
        const allApplied = async (hash: string) => {
          const ok = (st: ({ status?: string; lastRemoteConfigHash?: string } | undefined)[]) =>
            st.every((x) => x?.status === 'APPLIED' && x.lastRemoteConfigHash === hash);
          const st = await eventually(async () => Promise.all(sups.map(stateOf)), ok, 90_000);
          if (!ok(st)) throw new Error(`not all APPLIED ${hash.slice(0, 12)}: ${JSON.stringify(st)}\n${sups.map((x) => x.tail()).join('\n---\n')}`);
          return st;
        };
        try {
          const v1 = (await eventually(
            async () => (await api('GET', `/agents/${sups[0].uid}/desired-config`)).body?.hash as string | undefined,
            (h) => !!h,
            30_000,
          ))!;
          expect((await allApplied(v1)).map((x) => x?.status)).toEqual(['APPLIED', 'APPLIED']);

          // Revision 2 names a receiver this Collector does not have: the supervisor's validation rejects it.
          const cur = (await api('GET', `/remoteconfigs/${rcName}`)).body;
          expect((await api('PUT', `/remoteconfigs/${rcName}`, { ...cur, spec: { ...cur.spec, body: body('nosuchreceiver') } })).status).toBe(200);
          const broken = await api('POST', '/rollouts', {
            kind: 'Rollout',
            apiVersion: 'v1',
            metadata: { name: `collectors-broken-${scheme}` },
            spec: { target: { group: roGroup }, configs: [{ fileName: '', remoteConfig: rcName, revision: 2 }], stages: ['1', '100%'] },
          });
          expect(broken.status).toBe(201);
          const rolled = await eventually(
            () => api('GET', `/rollouts/collectors-broken-${scheme}`),
            (r) => ['RolledBack', 'Succeeded', 'Aborted'].includes(r.body.status?.phase),
            120_000,
          );
          expect(rolled.body.status).toMatchObject({ phase: 'RolledBack', reached: 1 });
          expect(rolled.body.status.failedAgents).toHaveLength(1);
          expect(rolled.body.status.failedAgents[0].error).toMatch(/nosuchreceiver/);
          const canary = sups.find((x) => x.uid === rolled.body.status.failedAgents[0].uid)!;
          const other = sups.find((x) => x !== canary)!;
          // The canary is back on revision 1 and never gets revision 2 again; the other never got it.
          expect((await allApplied(v1)).length).toBe(2);
          const v2 = received(canary).find((h) => h !== v1)!;
          expect(v2).toMatch(/^[0-9a-f]{64}$/);
          expect(received(canary).filter((h) => h === v2)).toHaveLength(1);
          expect(received(other)).toEqual([v1]);

          // Revision 3, a good change (the debug exporter's verbosity): 1 → 100%, Succeeded, both run it.
          const cur2 = (await api('GET', `/remoteconfigs/${rcName}`)).body;
          const good = body().replace('  debug: {}\n', '  debug:\n    verbosity: detailed\n');
          expect((await api('PUT', `/remoteconfigs/${rcName}`, { ...cur2, spec: { ...cur2.spec, body: good } })).status).toBe(200);
          const started = await api('POST', '/rollouts', {
            kind: 'Rollout',
            apiVersion: 'v1',
            metadata: { name: `collectors-good-${scheme}` },
            spec: { target: { group: roGroup }, configs: [{ fileName: '', remoteConfig: rcName, revision: 3 }], stages: ['1', '100%'] },
          });
          expect(started.status).toBe(201);
          const done = await eventually(
            () => api('GET', `/rollouts/collectors-good-${scheme}`),
            (r) => ['RolledBack', 'Succeeded', 'Aborted'].includes(r.body.status?.phase),
            120_000,
          );
          expect(done.body.status).toMatchObject({ phase: 'Succeeded', reached: 2 });
          expect(done.body.status.stages.map((x: { reached: number }) => x.reached)).toEqual([1, 2]);
          const v3 = done.body.status.toHash as string;
          expect((await allApplied(v3)).length).toBe(2);
          expect((await api('GET', `/agentgroups/${roGroup}`)).body.spec.configs).toEqual([{ fileName: '', remoteConfig: rcName, revision: 3 }]);
          for (const x of sups) expect(received(x).filter((h) => h === v3)).toHaveLength(1);
        } finally {
          for (const x of sups) await x.stop(!!process.env.COLLECTOR_INTEROP_KEEP);
        }
      }),
    );
  });
});
