// The Docker tests' lab: the namespace "host" (the Docker host, forwarding, its uplink eth0 with DOCKER_HOST_ADDR)
// linked to "out" (a host beyond it, DOCKER_OUT_ADDR, which knows no route to any container prefix: an answer
// gets back only if a container's packets left with the host's address), and a private dockerd in "host"
// (src/lab/docker_engine.ts) with the busybox image imported. npt66 runs in "host" with its config file in a
// directory of the test's own. `teardown` stops all of it whatever the test left, for after().
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { PrivateDocker } from '../../../src/lab/docker_engine';
import { Topology } from '../../../src/netns';
import type { LineProcess } from './line_process';

export const DOCKER_HOST_ADDR = '2001:db8:f::1';
export const DOCKER_OUT_ADDR = '2001:db8:f::2';

export class DockerHostLab {
  readonly topo: Topology;
  readonly dir: string; // the test's files (npt66's config)
  readonly configFile: string;
  readonly socket: string; // npt66's control socket
  docker: PrivateDocker | undefined;
  npt66: LineProcess | undefined;
  readonly extra: LineProcess[] = []; // other processes of the test's (killed by teardown)

  constructor(readonly prefix: string) {
    this.topo = new Topology(prefix);
    this.dir = mkdtempSync(join(tmpdir(), `npt66-${prefix}`));
    this.configFile = join(this.dir, 'config.json');
    this.socket = `/run/npt66-${prefix}docker.sock`;
  }

  async build(): Promise<PrivateDocker> {
    Topology.removeStale(this.prefix);
    await this.topo.addNamespace('host', { forwarding: true });
    await this.topo.addNamespace('out');
    await this.topo.link('host', 'eth0', 'out', 'eth0');
    await this.topo.addAddress('host', 'eth0', `${DOCKER_HOST_ADDR}/64`);
    await this.topo.addAddress('out', 'eth0', `${DOCKER_OUT_ADDR}/64`);
    this.docker = new PrivateDocker(this.topo.ns('host').name);
    await this.docker.start();
    await this.docker.importBusybox();
    return this.docker;
  }

  async teardown(): Promise<void> {
    for (const p of this.extra) if (!p.exit) p.child.kill('SIGKILL');
    if (this.npt66 && !this.npt66.exit) {
      this.npt66.child.kill('SIGTERM');
      await this.npt66.waitExit(20_000).catch(() => undefined);
    }
    await this.docker?.dispose();
    await this.topo.destroy();
    rmSync(this.dir, { recursive: true, force: true });
    rmSync(this.socket, { force: true });
  }
}
