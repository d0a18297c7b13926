// Issue 10 part 2: published ports keep the client's address. The Docker-host lab (masq/masq_lab.ts) with
// masquerade[].forwards: a client beyond the host (out) connects over TCP to [host]:8080, forwarded to c1:80,
// and sends UDP to [host]:5353, forwarded to c2:53. The inside servers see the client's own address and port
// (not the host's, as Docker's userland proxy would show), the replies come back from [host]:8080 / [host]:5353,
// and r1 has no route to the containers, so an answer that leaked with an inside source would show as such at
// the client. Another container reaches the published port through the host's address (hairpin). A forward to
// a port the host itself listens on is refused before anything starts.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { waitFor } from '../../src/netns';
import { labSuite } from './lib/lab_suite';
import { CLI_PATH } from './lib/npt66_daemon';
import { jsonLines, listening } from './lib/traffic';
import { ADDR, MasqLab } from './masq/masq_lab';
import { startFlow } from './masq/traffic';
import { Npt66Masquerade, npt66Counters, type MasqOptions, type Npt66MasqConfig } from './masq/translator';

const isRoot = process.getuid?.() === 0;

const FORWARDS = [
  { protocol: 'tcp', port: 8080, to: `[${ADDR.c1}]:80` },
  { protocol: 'udp', port: 5353, to: `[${ADDR.c2}]:53` },
];

// The lab's npt66 with the forwards in its one masquerade entry.
class ForwardingMasquerade extends Npt66Masquerade {
  override config(opts: MasqOptions = {}): Npt66MasqConfig {
    const c = super.config(opts);
    return { ...c, masquerade: c.masquerade.map((m) => ({ ...m, forwards: FORWARDS })) };
  }
}

describe('masquerade: published ports keep the client’s address', { skip: isRoot ? false : 'needs root' }, () => {
  const g = labSuite(
    () => MasqLab.create('nx-fw-'),
    (lab) => new ForwardingMasquerade(lab, 'forwards'),
    (t) => t.start(),
  );

  test('TCP to [host]:8080 reaches c1:80 from the client’s own address and port; the echo comes back', async () => {
    const { lab, translator: t } = g;
    const server = await listening(startFlow(lab, 'c1', ['tcp-echo', 80]));
    try {
      const client = startFlow(lab, 'out', ['tcp-once', ADDR.host, 8080, 20_000, 'fin']);
      const exit = await client.waitExit(60_000);
      assert.equal(exit.code, 0, `the client got its 20000 bytes echoed through [host]:8080\n${client.stderr}`);
      const localPort = jsonLines<{ localPort: number }>(client, 'connected')[0]?.localPort;
      const seen = jsonLines<{ from: string; port: number }>(server, 'connection');
      assert.deepEqual(seen, [{ event: 'connection', from: ADDR.out, port: localPort }], 'c1 sees the client itself');
      const c = await npt66Counters(t);
      assert.ok(c && c.nat66_forward_inbound > 0 && c.nat66_forward_outbound > 0, JSON.stringify(c));
      assert.equal(c.nat66_mapping_created ?? 0, 0, 'a forward makes no mapping');
    } finally {
      server.child.kill('SIGKILL');
    }
  });

  test('UDP to [host]:5353 reaches c2:53 from the client’s own address and port; the answer comes from [host]:5353', async () => {
    const { lab } = g;
    // c2's server announces once to a closed port outside (it leaves from [host]:5353 too), then echoes.
    const server = await listening(startFlow(lab, 'c2', ['udp-announce', 53, ADDR.out, 9]));
    const client = await listening(startFlow(lab, 'out', ['udp-fanout', 41053, 5353, ADDR.host, ADDR.host, 300]));
    try {
      await waitFor('the answer at the client', () => jsonLines(client, 'datagram').length > 0, 15_000);
      const answers = jsonLines<{ from: string; port: number; text: string }>(client, 'datagram');
      // udp-fanout sends "hello ADDRESS"; c2 echoes it.
      assert.deepEqual([...new Set(answers.map((d) => `[${d.from}]:${d.port} ${d.text}`))], [`[${ADDR.host}]:5353 hello ${ADDR.host}`]);
      const arrived = jsonLines<{ from: string; port: number; text: string }>(server, 'datagram');
      assert.deepEqual([...new Set(arrived.map((d) => `[${d.from}]:${d.port} ${d.text}`))], [`[${ADDR.out}]:41053 hello ${ADDR.host}`], 'c2 sees the client itself');
    } finally {
      server.child.kill('SIGKILL');
      client.child.kill('SIGKILL');
    }
  });

  // RFC 4787 REQ-9 for published ports: another container reaches c1's service at [host]:8080 and c1 sees it by
  // its mapped outside endpoint (the host's address), the echo comes back.
  test('hairpin: c3 connects to [host]:8080 and gets its data echoed by c1', async () => {
    const { lab, translator: t } = g;
    const server = await listening(startFlow(lab, 'c1', ['tcp-echo', 80]));
    try {
      const client = startFlow(lab, 'c3', ['tcp-once', ADDR.host, 8080, 5000, 'fin']);
      const exit = await client.waitExit(60_000);
      assert.equal(exit.code, 0, `c3 got its 5000 bytes echoed through [host]:8080\n${client.stderr}`);
      const seen = jsonLines<{ from: string; port: number }>(server, 'connection');
      assert.deepEqual(seen.map((x) => x.from), [ADDR.host], 'c1 sees c3 by the host’s address, never by an inside one');
      const c = await npt66Counters(t);
      assert.ok(c && c.nat66_hairpin > 0, JSON.stringify(c));
    } finally {
      server.child.kill('SIGKILL');
    }
  });

  test('a forward to a port the host itself listens on is refused, naming the field', async () => {
    const { lab, translator: t } = g;
    const host = lab.ns('host');
    const busy = lab.topology.spawn('host', ['socat', 'TCP6-LISTEN:8090,reuseaddr,fork', 'SYSTEM:true']);
    try {
      await waitFor('the host’s own service', async () => (await host.exec(['ss', '-ltnH', 'sport = :8090'])).stdout.includes(':8090'));
      const c = t.config();
      t.writeConfigFile({ ...c, masquerade: c.masquerade.map((m) => ({ ...m, forwards: [{ protocol: 'tcp', port: 8090, to: `[${ADDR.c3}]:80` }] })) });
      const r = await host.exec([process.execPath, CLI_PATH, 'check', '-c', t.configFile], { allowFailure: true });
      assert.notEqual(r.code, 0, r.stdout);
      assert.match(r.stdout + r.stderr, /masquerade\[0\]\.forwards\[0\]\.port: tcp port 8090 is one this host itself listens on/);
    } finally {
      busy.kill('SIGKILL');
      t.writeConfigFile(t.config());
    }
  });
});
