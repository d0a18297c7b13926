// npt66 run -c FILE: the gateway daemon, in the foreground (systemd or a container runtime supervises it).
// JSON lines on stdout; "msg":"ready" once the queues are bound and the rules installed; SIGTERM/SIGINT stop
// cleanly (rules removed, queues drained, exit 0); SIGHUP reloads the file (logs "reloaded" or "reload failed").
import { ControlServer } from '../control';
import { exitStatusFor, Npt66Error } from '../errors';
import { Gateway, type GatewayEvent, type GatewayMappingEvent } from '../gateway';
import { loadGatewayConfig } from '../gateway-config';
import { Logger } from '../log';
import { mappingLogFields } from '../mapping-format';
import { MappingLog } from '../mapping-log';
import { MetricsServer } from '../metrics';
import { parseMetricsListen } from '../metrics-listen';
import { ServiceNotifier } from '../service-notify';
import { parseCommandLine, requireConfigFile } from './common';

export const summary = 'run the NPTv6 / NAT66 masquerade gateway in the foreground (JSON logs on stdout)';

const usage = `usage: npt66 run -c FILE

Runs the gateway described by FILE (JSON, see schema/npt66.schema.json) until SIGTERM or SIGINT.
Logs one JSON object per line on stdout; the line with "msg":"ready" means queues bound and rules installed.
Masquerade mappings are logged as they are created, gain a remote, change state and expire, like \`conntrack -E\`:
  {"msg":"mapping","event":"NEW"|"UPDATE"|"DESTROY"|"REMOTE"|"LIMIT","protocol":...,"inside":"[addr]:port","outside":...,"remote":...}
  -c, --config FILE   the configuration file (required)
Signals: SIGTERM/SIGINT stop cleanly (exit 0), SIGHUP reloads FILE (the old configuration stays on error).
Exit status: 0 stopped cleanly, 1 failed while starting or stopping, 2 bad usage or configuration.
`;

export async function run(argv: string[]): Promise<number> {
  const parsed = parseCommandLine(argv, usage, { config: { type: 'string', short: 'c' } });
  if (!parsed) return 0;
  const file = requireConfigFile(parsed.values.config);

  const log = new Logger();
  // systemd's Type=notify (systemd/npt66.service): READY=1 below, RELOADING=1/READY=1 on SIGHUP, STOPPING=1.
  const manager = new ServiceNotifier((message) => log.warning(message));
  let gateway: Gateway | null = null;
  let control: ControlServer | null = null;
  let metrics: MetricsServer | null = null;
  let mappingLog: MappingLog | null = null;
  const onExit = () => {
    // Reached only if the process exits without a clean stop (e.g. process.exit from elsewhere).
    gateway?.removeRulesSync();
    control?.closeSync();
  };

  try {
    const { config } = loadGatewayConfig(file);
    log.info('starting', { config: file, pid: process.pid, mappings: config.nptv6.length, masquerade: config.masquerade.length, queues: config.queues });
    // The control socket first: if another npt66 owns it, stop here before touching its queues or rules.
    control = await ControlServer.listen(config.control.socket, {
      stats: () => {
        if (!gateway) throw new Npt66Error('ERR_NPT66_STATE', 'the gateway is still starting');
        return gateway.stats();
      },
      mappings: () => {
        if (!gateway) throw new Npt66Error('ERR_NPT66_STATE', 'the gateway is still starting');
        return { time: Date.now(), mappings: gateway.mappings() };
      },
      config: () => gateway?.config,
    });
    log.limitWarnings(config.logs.warningInterval * 1000);
    if (config.logs.mappings) mappingLog = new MappingLog(config.logs.mappings, (e) => log.warning('cannot write the mapping log', { path: config.logs.mappings, error: e }));
    // Before the queues too: a port already taken stops the start with nothing bound.
    if (config.metrics) {
      metrics = await MetricsServer.listen(parseMetricsListen(config.metrics.listen)!, {
        stats: () => {
          if (!gateway) throw new Npt66Error('ERR_NPT66_STATE', 'the gateway is still starting');
          return gateway.stats();
        },
        config: () => gateway?.config,
      });
    }
    process.on('exit', onExit);
    gateway = await Gateway.start(config, {
      on: {
        warning: (e: GatewayEvent) => log.warning(e.message, { event: 'warning', ...e, message: undefined, time: undefined }),
        error: (e: GatewayEvent) => log.error(e.message, { event: 'error', ...e, message: undefined, time: undefined }),
        state: (e: GatewayEvent) => log.info(e.message, { event: 'state', ...e, message: undefined, time: undefined }),
        // An outside prefix that follows an interface changed (README "Outside prefix from an interface").
        prefix: (e: GatewayEvent) => log.info(e.message, { event: 'prefix', ...e, message: undefined, time: undefined }),
        // A masquerade address that follows its interface changed (README "Masquerade address from an interface").
        address: (e: GatewayEvent) => log.info(e.message, { event: 'address', ...e, message: undefined, time: undefined }),
        // LIMIT (a packet to one remote more than maxRemotesPerMapping refused, at most every 10 s) is a warning.
        // With "logs": {"mappings": PATH}, NEW and DESTROY go to that file (src/mapping-log.ts) instead.
        mapping: (e: GatewayMappingEvent) =>
          e.event === 'LIMIT'
            ? log.warning('mapping', mappingLogFields(e.event, e.mapping))
            : mappingLog
              ? mappingLog.record(e.event, e.mapping, new Date(e.time))
              : log.info('mapping', mappingLogFields(e.event, e.mapping)),
      },
    });
  } catch (e) {
    log.error('start failed', { error: e });
    manager.status(`start failed: ${(e as Error).message}`);
    await metrics?.close();
    mappingLog?.close();
    log.flushWarnings();
    await control?.close();
    process.off('exit', onExit);
    return exitStatusFor(e, 1); // a failure while starting or stopping exits 1
  }
  const running = gateway;
  const server = control;

  log.info('ready', {
    queues: running.config.queues,
    rules: running.rulesBackend,
    socket: server.socketPath,
    mappings: running.config.nptv6,
    masquerade: running.config.masquerade.map((m) => ({ source: m.source, interface: m.interface, address: m.address, ports: m.ports, filtering: m.filtering })),
    failOpen: running.config.failOpen,
    ...(metrics && { metrics: `http://${running.config.metrics!.listen}/metrics` }),
    ...(mappingLog && { mappingLog: mappingLog.path }),
  });
  const c = running.config;
  manager.ready(`translating: ${c.nptv6.length} NPTv6 mapping(s), ${c.masquerade.length} masquerade entr${c.masquerade.length === 1 ? 'y' : 'ies'}; control socket ${server.socketPath}`);
  const exporter = metrics;
  const mappingFile = mappingLog;

  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      log.info('stopping', { signal });
      manager.stopping(`stopping (${signal}): removing the rules, draining the queues`);
      running
        .stop()
        .then(
          () => 0,
          (e: unknown) => {
            log.error('stop failed', { error: e });
            return 1;
          },
        )
        .then(async (code) => {
          await exporter?.close();
          mappingFile?.close();
          log.flushWarnings();
          await server.close();
          process.off('exit', onExit);
          for (const s of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.removeAllListeners(s);
          log.info('stopped', { code });
          // Nothing should keep the loop alive now; if something does, do not hang the supervisor.
          setTimeout(() => process.exit(code), 2000).unref();
          resolve(code);
        });
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGHUP', () => {
      if (stopping) return;
      try {
        mappingFile?.reopen(); // logrotate moved it away
      } catch (e) {
        log.error('cannot reopen the mapping log', { error: e });
      }
      // One line per SIGHUP, with the outcome ("reloaded" or "reload failed"), so a supervisor can wait for it;
      // systemd hears RELOADING=1 now and READY=1 with the outcome (`systemctl reload` returns then).
      manager.reloading();
      Promise.resolve()
        .then(() => running.reload(loadGatewayConfig(file).config))
        .then(
          (r) => {
            log.info('reloaded', { config: file, ...r, mappings: running.config.nptv6.length });
            manager.ready(`reloaded ${file}: ${running.config.nptv6.length} NPTv6 mapping(s), ${running.config.masquerade.length} masquerade entr${running.config.masquerade.length === 1 ? 'y' : 'ies'}`);
          },
          (e: unknown) => {
            log.error('reload failed; the running configuration is unchanged', { config: file, error: e });
            manager.ready(`reload failed, running the previous configuration: ${(e as Error).message}`);
          },
        );
    });
  });
}
