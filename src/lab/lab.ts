// `npm run lab`: the seed story's whole path in namespaces, with two real `npt66 run` daemons: masquerade on the
// Docker host (cnt01's fd5a:ceb9:ed8d:1::/64 leaves with the host's ens192 address) and NPTv6 on the gateway.
// Runs the article's checks (host <-> container, container -> host, container -> outside), shows the path hop by
// hop with each translation (tcpdump on each link) and the Docker host's mapping events, then the gateway's own
// checks (inbound, hairpin, TCP/UDP both ways, traceroute), the counters, and tears everything down.
// With --docker the Docker host runs a real Docker Engine and cnt01 is a Docker container (docker_host.ts).
// Each stage is a function in stages.ts; this file only runs them in order and owns the cleanup.
import { rmSync } from 'node:fs';

import { LAB_PREFIX, removeStaleLab } from './build';
import { namespaceContainer } from './container';
import { LAB_DIR } from './daemon';
import { PrivateDocker } from './docker_engine';
import { DOCKER_DIR, LabDocker, withDocker } from './docker_host';
import type { Out } from './probes';
import * as stage from './stages';
import { SEED_LAB, type LabTopology } from './topology';

export { LAB_DIR } from './daemon';

export interface LabOptions {
  keep: boolean;
  docker?: boolean; // a real Docker Engine on the Docker host (the caller checked it can run: dockerUnavailable)
  out: Out;
}

function removeLabDir(): void {
  try {
    rmSync(LAB_DIR, { recursive: true, force: true });
  } catch {
    /* best effort from an exit handler */
  }
}

// Builds, exercises and (unless keep) removes the lab. Returns the exit code: 0 when every check passed.
export async function runLab(opts: LabOptions, seed: LabTopology = SEED_LAB): Promise<number> {
  const out = opts.out;
  if (opts.docker && opts.keep) throw new Error('lab: --keep is not available with --docker');
  const data = opts.docker ? withDocker(seed) : seed;
  await stage.explainSeed(out);
  const plan = stage.planLab(data);
  const net = await stage.buildNetwork(data, out);
  if (!opts.keep) net.onDestroy(removeLabDir); // also after Ctrl-C
  const run: stage.LabRun = { ...plan, data, out, net, daemons: [], servers: [], container: namespaceContainer(net, data.container.ns), docker: null };
  // (with --docker, the container replaces the namespace one before any check runs)
  let code = 1;
  try {
    stage.describeNetwork(run);
    if (opts.docker) {
      run.docker = await LabDocker.start(net, seed, out);
      run.container = run.docker.container();
      run.dockerHost.env = { DOCKER_HOST: run.docker.host };
    }
    await stage.startTranslators(run, opts.keep);
    const results = [
      ...(await stage.articleChecks(run)),
      await stage.containerPathTrace(run),
      ...(await stage.containerFlows(run)),
      await stage.containerTraceroute(run),
      ...(await stage.mappingEvents(run)),
      ...(await stage.gatewayPathTraces(run)),
      ...(await stage.gatewayFlows(run)),
    ];
    await stage.showStats(run);
    code = stage.summarize(out, results);
    if (opts.keep) {
      stage.keepLab(run);
      return code;
    }
    if (!(await stage.stopTranslators(run))) code = 1;
  } finally {
    if (!opts.keep) {
      await run.docker?.stop(out);
      net.destroySync(); // also kills a dockerd that LabDocker.start left half-started
      rmSync(LAB_DIR, { recursive: true, force: true });
      out('  namespaces removed.');
    }
  }
  return code;
}

// `npt66 lab --down`: removes a lab left by --keep (its daemons die with their namespaces).
export function downLab(out: Out): number {
  PrivateDocker.removeLeftovers(DOCKER_DIR);
  removeStaleLab(LAB_PREFIX);
  rmSync(LAB_DIR, { recursive: true, force: true });
  out(`removed every namespace named ${LAB_PREFIX}*, their /etc/netns files, and ${LAB_DIR}`);
  return 0;
}
