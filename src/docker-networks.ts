// The IPv6 subnets of the local Docker Engine's bridge networks, followed live through the Engine API
// (https://docs.docker.com/engine/api/): `"source": "docker"` in a masquerade entry masquerades all of them.
//
// The running containers' published ports come with every list (GET /containers/json, docker-published.ts).
//
// Plain HTTP over node:http rather than dockerode: npt66 needs three endpoints (GET /networks, GET
// /containers/json, the GET /events stream), and dockerode would bring docker-modem, ssh2 and tar-fs for them.
//
// Where: DOCKER_HOST like the docker CLI (unix:///path or tcp://host:port, plain HTTP), else
// unix:///var/run/docker.sock. How: the event stream (network create/destroy/connect/disconnect, container
// start/die) triggers a full list of the networks; so does every (re)connection, so nothing is missed while the
// stream was down. Docker unreachable (not installed, stopped, restarting): a warning, retries with a growing
// delay (up to 10 s), and the last known subnets stay in force, so a Docker restart does not stop the
// containers' traffic from being masqueraded.
import { EventEmitter } from 'node:events';
import http from 'node:http';

import { publishedPorts, type DockerContainer, type DockerPublished } from './docker-published';

export interface DockerEndpoint {
  socketPath?: string;
  host?: string;
  port?: number;
  text: string; // as shown in messages
}

// DOCKER_HOST as the docker CLI reads it. tcp:// with TLS (DOCKER_TLS_VERIFY) is not supported: a clear error.
export function dockerEndpoint(env: NodeJS.ProcessEnv = process.env): DockerEndpoint {
  const value = env.DOCKER_HOST?.trim() || 'unix:///var/run/docker.sock';
  if (value.startsWith('unix://')) return { socketPath: value.slice('unix://'.length), text: value };
  const tcp = /^tcp:\/\/(\[[^\]]+\]|[^:/]+)(?::(\d+))?\/?$/.exec(value);
  if (tcp) {
    if (env.DOCKER_TLS_VERIFY) throw new Error(`DOCKER_HOST=${value} with DOCKER_TLS_VERIFY: TLS to the Docker Engine is not supported; use its unix socket`);
    return { host: tcp[1]!.replace(/^\[|\]$/g, ''), port: Number(tcp[2] ?? 2375), text: value };
  }
  throw new Error(`DOCKER_HOST=${value} is not unix:///PATH or tcp://HOST:PORT`);
}

// The part of GET /networks that matters here.
export interface DockerNetwork {
  Name: string;
  Driver: string;
  EnableIPv6: boolean;
  IPAM?: { Config?: { Subnet?: string }[] | null } | null;
}

// Every IPv6 subnet of the IPv6-enabled bridge networks, sorted and without repeats.
export function ipv6Subnets(networks: readonly DockerNetwork[]): string[] {
  const out = new Set<string>();
  for (const n of networks) {
    if (n.Driver !== 'bridge' || !n.EnableIPv6) continue;
    for (const c of n.IPAM?.Config ?? []) if (c.Subnet?.includes(':')) out.add(c.Subnet.toLowerCase());
  }
  return [...out].sort();
}

const WATCHED_EVENTS = {
  type: ['network', 'container'],
  event: ['create', 'destroy', 'connect', 'disconnect', 'start', 'die'],
};

export interface DockerNetworksOptions {
  endpoint?: DockerEndpoint;
  retryMinMs?: number; // first retry delay (default 1000), doubled up to retryMaxMs
  retryMaxMs?: number; // default 10000
}

// What one list found.
export interface DockerView {
  subnets: string[];
  published: DockerPublished[];
}

// Events: 'subnets' (string[]: the IPv6 subnets now, after each change), 'published' (DockerPublished[]: the
// running containers' published ports now, after each change; after 'subnets' when both changed), 'warning' and
// 'state' ({message}).
export class DockerNetworks extends EventEmitter {
  private readonly endpoint: DockerEndpoint;
  private readonly retryMinMs: number;
  private readonly retryMaxMs: number;
  private subnets: string[] | null = null; // null until the first successful list
  private published: DockerPublished[] | null = null;
  // Containers whose last event was "die": Docker sends it (and "network disconnect") before the container list
  // shows the container stopped, so a list made on the event can still show it running with its ports, and a
  // crashed or killed container sends nothing later. Left out of the lists until they start again or the list
  // no longer has them.
  private readonly dead = new Set<string>();
  private stream: http.ClientRequest | null = null;
  private timer: NodeJS.Timeout | null = null;
  private delay: number;
  private stopped = false;
  private connected = false;
  private listing: Promise<void> | null = null;
  private listAgain = false;

  constructor(options: DockerNetworksOptions = {}) {
    super();
    this.endpoint = options.endpoint ?? dockerEndpoint();
    this.retryMinMs = options.retryMinMs ?? 1000;
    this.retryMaxMs = options.retryMaxMs ?? 10_000;
    this.delay = this.retryMinMs;
  }

  // The subnets last seen (empty before Docker was ever reached).
  get current(): string[] {
    return this.subnets ?? [];
  }

  // The published ports last seen (empty before Docker was ever reached).
  get currentPublished(): DockerPublished[] {
    return this.published ?? [];
  }

  start(): void {
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.stream?.destroy();
    this.stream = null;
  }

  private request(path: string): http.RequestOptions {
    const e = this.endpoint;
    return { path, headers: { host: 'docker' }, ...(e.socketPath ? { socketPath: e.socketPath } : { host: e.host, port: e.port }) };
  }

  // Opens the event stream first, then lists: an event between the two only causes one more list.
  private connect(): void {
    if (this.stopped) return;
    const path = `/events?filters=${encodeURIComponent(JSON.stringify(WATCHED_EVENTS))}`;
    const req = http.get(this.request(path), (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        this.lost(`GET /events answered ${res.statusCode}`);
        return;
      }
      let buffered = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffered += chunk;
        let nl: number;
        while ((nl = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, nl).trim();
          buffered = buffered.slice(nl + 1);
          if (line) this.event(line);
        }
      });
      res.on('end', () => this.lost('the event stream ended'));
      res.on('error', (err) => this.lost(err.message));
      this.connected = true;
      this.delay = this.retryMinMs;
      this.emit('state', { message: `following Docker's IPv6 networks at ${this.endpoint.text}` });
      this.refresh();
    });
    req.on('error', (err) => this.lost(err.message));
    this.stream = req;
  }

  private lost(why: string): void {
    if (this.stopped || (this.stream === null && this.timer !== null)) return;
    this.stream?.destroy();
    this.stream = null;
    this.connected = false;
    const kept = this.subnets === null ? 'none known yet' : this.subnets.join(', ') || 'none';
    this.emit('warning', {
      message: `Docker Engine at ${this.endpoint.text} unreachable (${why}): its networks' IPv6 subnets stay as last seen (${kept}); retrying in ${Math.round(this.delay / 1000)} s`,
    });
    this.timer = setTimeout(() => {
      this.timer = null;
      this.connect();
    }, this.delay);
    this.delay = Math.min(this.delay * 2, this.retryMaxMs);
  }

  private event(line: string): void {
    try {
      const e = JSON.parse(line) as { Type?: string; Action?: string; Actor?: { ID?: string } };
      const id = e.Actor?.ID;
      if (e.Type === 'container' && id) {
        if (e.Action === 'die') this.dead.add(id);
        else if (e.Action === 'start' || e.Action === 'destroy') this.dead.delete(id);
      }
    } catch {
      // not JSON: a list is all it causes
    }
    this.refresh();
  }

  // One list at a time; events during a list cause exactly one more.
  private refresh(): void {
    if (this.listing) {
      this.listAgain = true;
      return;
    }
    this.listing = this.list()
      .then(({ subnets, published }) => {
        if (this.stopped) return;
        if (this.subnets === null || subnets.join() !== this.subnets.join()) {
          this.subnets = subnets;
          this.emit('subnets', subnets);
        }
        if (this.published === null || JSON.stringify(published) !== JSON.stringify(this.published)) {
          this.published = published;
          this.emit('published', published);
        }
      })
      .catch((err: Error) => {
        if (this.connected) this.lost(err.message);
      })
      .finally(() => {
        this.listing = null;
        if (this.listAgain && !this.stopped) {
          this.listAgain = false;
          this.refresh();
        }
      });
  }

  // One list now, without following (the gateway's first, before its rules go in); throws if Docker does not answer.
  listOnce(timeoutMs = 2000): Promise<DockerView> {
    return this.list(timeoutMs);
  }

  // The networks, then the containers: a container started between the two has its network listed already.
  private async list(timeoutMs = 10_000): Promise<DockerView> {
    const subnets = ipv6Subnets(await this.getJson<DockerNetwork[]>('/networks', timeoutMs));
    const running = await this.getJson<DockerContainer[]>('/containers/json', timeoutMs);
    for (const id of this.dead) if (!running.some((c) => c.Id === id)) this.dead.delete(id);
    const published = publishedPorts(running.filter((c) => !this.dead.has(c.Id)));
    return { subnets, published };
  }

  private getJson<T>(path: string, timeoutMs: number): Promise<T> {
    return new Promise((resolve, reject) => {
      const req = http.get(this.request(path), (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => {
          if (res.statusCode !== 200) return reject(new Error(`GET ${path} answered ${res.statusCode}: ${body.trim()}`));
          try {
            resolve(JSON.parse(body) as T);
          } catch (e) {
            reject(e as Error);
          }
        });
        res.on('error', reject);
      });
      req.setTimeout(timeoutMs, () => req.destroy(new Error(`GET ${path}: no answer in ${timeoutMs} ms`)));
      req.on('error', reject);
    });
  }
}
