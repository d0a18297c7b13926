// Issue 4: npt66's masquerade against the kernel's own MASQUERADE on the same topology: the same set of flows
// (ping6, TCP, UDP, Packet Too Big, Time Exceeded) is run through each in turn, and what every flow achieved,
// as seen by the endpoints, must be the same. This file always runs both translators.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ADDR, CONTAINERS, MasqLab } from './masq/masq_lab';
import { ping, udpExchangeEndpoints } from './lib/traffic';
import { tcpTransfer } from './masq/traffic';
import { createMasqTranslator, type MasqTranslator, type TranslatorKind } from './masq/translator';

// What each flow achieved, as plain values, so two runs compare with deepEqual.
interface Outcome {
  ping: string; // "5/5 replies"
  tcp: string; // "intact from <peer>" or the failure
  udp: string;
  udpSource: string; // the address the outside server saw
  packetTooBig: string; // what ping reported, and the path MTU the container learnt
  tcpOverSmallMtu: string;
  timeExceeded: string;
}

async function runFlows(lab: MasqLab, port: number): Promise<Outcome> {
  // Path MTUs learnt in an earlier run would keep Packet Too Big from being sent again.
  await Promise.all(CONTAINERS.map((c) => lab.ns(c).exec(['ip', '-6', 'route', 'flush', 'cache'])));
  const p = await ping(lab, 'c1', ADDR.out, { count: 5, intervalS: 0.02 });
  const t = await tcpTransfer(lab, 'c1', 'out', ADDR.out, 4 << 20, port).catch((e: Error) => e);
  const u = await udpExchangeEndpoints(lab, 'c2', 'out', ADDR.out, 10, port + 1, 25900, 1500);
  const ptb = await ping(lab, 'c3', ADDR.outSmallMtu, { count: 1, size: 1400, mtuDiscovery: 'do', waitS: 2 });
  const ptbRoute = await lab.ns('c3').exec(['ip', '-6', 'route', 'get', ADDR.outSmallMtu]);
  const small = await tcpTransfer(lab, 'c2', 'out', ADDR.outSmallMtu, 2 << 20, port + 2).catch((e: Error) => e);
  const te = await ping(lab, 'c1', ADDR.out, { count: 1, hopLimit: 2, size: 16, waitS: 2 });
  const intact = (r: typeof t) => (r instanceof Error ? `failed: ${r.message.split('\n')[0]}` : r.received.sha256 === r.sent.sha256 && r.received.bytes === r.sent.bytes ? `intact from ${r.received.peer}` : 'corrupted');
  return {
    ping: `${p.received}/${p.transmitted} replies`,
    tcp: intact(t),
    udp: `${u.received}/${u.sent} answered from ${u.replyFrom.join(',')}`,
    udpSource: u.serverSaw.map((s) => s.from).join(','),
    packetTooBig: `${/Packet too big: mtu=\d+/i.exec(ptb.output)?.[0] ?? 'no Packet Too Big reported'}; route mtu ${/\bmtu (\d+)/.exec(ptbRoute.stdout)?.[1] ?? 'not learnt'}`,
    tcpOverSmallMtu: intact(small),
    timeExceeded: new RegExp(`From ${ADDR.r1Inside}.*Time exceeded`, 'i').test(te.output) ? `Time exceeded from ${ADDR.r1Inside}` : `not reported: ${te.output}`,
  };
}

describe('masquerade: npt66 against the kernel’s MASQUERADE, same topology, same flows', () => {
  let lab: MasqLab | undefined;
  let current: MasqTranslator | undefined;
  const outcomes: Partial<Record<TranslatorKind, Outcome>> = {};

  before(async () => {
    lab = await MasqLab.create('nx-vs-');
  });
  after(async () => {
    await current?.dispose();
    lab?.destroy();
  });

  for (const [kind, port] of [['kernel', 5900], ['npt66', 5910]] as const) {
    test(`the flows through ${kind === 'kernel' ? 'the kernel’s MASQUERADE' : 'npt66'}`, async () => {
      assert.ok(lab, 'the lab was not built');
      current = createMasqTranslator(lab, 'vs-kernel', kind);
      await current.start();
      outcomes[kind] = await runFlows(lab, port);
      await current.stop();
      await current.dispose();
      current = undefined;
    });
  }

  test('every flow succeeded through the kernel, and npt66 achieved exactly the same', () => {
    assert.deepEqual(outcomes.kernel, {
      ping: '5/5 replies',
      tcp: `intact from ${ADDR.host}`,
      udp: `10/10 answered from ${ADDR.out}`,
      udpSource: ADDR.host,
      packetTooBig: 'Packet too big: mtu=1280; route mtu 1280',
      tcpOverSmallMtu: `intact from ${ADDR.host}`,
      timeExceeded: `Time exceeded from ${ADDR.r1Inside}`,
    });
    assert.deepEqual(outcomes.npt66, outcomes.kernel);
  });
});
