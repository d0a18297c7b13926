// Queue thread placement with "queues.cpus": "auto" (src/cpu-placement.ts) from given host facts, and the
// readers of IRQ affinity, RPS masks and /proc/interrupts (src/host-facts.ts) against a fixture sysfs/proc tree.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

import { chooseQueuePlacement, describePlacement, queuedInterfaces } from '../../src/cpu-placement';
import { parseCpuList, parseCpuMask, parseInterrupts, readReceiveWork, type HostFacts, type InterfaceReceiveWork } from '../../src/host-facts';

const nptv6 = [{ inside: 'fd5a:ceb9:ed8d:fe0a::/64', outside: '2001:db8:ff66::/64', interface: 'eth1' }];

function facts(allowed: number[] | null, work: Record<string, InterfaceReceiveWork>, routes: Record<string, string> = {}): HostFacts {
  return {
    localPortRange: () => null,
    interfaceAddresses: () => null,
    conntrackTimeouts: () => ({ udpStream: null, tcpEstablished: null, icmpv6: null }),
    allowedCpus: () => allowed,
    receiveWork: (name) => work[name] ?? null,
    routeInterface: (address) => routes[address] ?? null,
  };
}

const irq = (n: number, cpus: number[], name = `eth1-TxRx-${n}`) => ({ irq: n, name, cpus });
const config = (count: number, cpus: 'auto' | number[] = 'auto') => ({ nptv6, masquerade: [], queues: { first: 0, count, cpus } });

test('IRQ affinity on CPU 0: the queue threads go to CPUs 1..N-1, round-robin', () => {
  const p = chooseQueuePlacement(config(4), facts([0, 1, 2, 3], { eth1: { irqs: [irq(40, [0])], rpsCpus: [[]] } }));
  assert.equal(p.mode, 'auto');
  assert.deepEqual(p.cpus, [1, 2, 3]);
  assert.deepEqual(p.threads.map((t) => t.cpu), [1, 2, 3, 1]);
  assert.deepEqual(p.receiveCpus, [0]);
  assert.match(p.reason, /^pinned to CPUs that take no receive work .*receive work on 0\); 4 threads share 3 CPUs$/);
  assert.equal(describePlacement(p).split(' (')[0], 'queue 0 -> CPU 1, queue 1 -> CPU 2, queue 2 -> CPU 3, queue 3 -> CPU 1');
});

test('RPS masks count as receive work, together with the interrupt CPUs, on every queued interface', () => {
  const work = {
    eth1: { irqs: [irq(40, [0])], rpsCpus: [[2], [3]] },
    eth0: { irqs: [], rpsCpus: [[4]] }, // the inside interface, found from the route to the inside prefix
  };
  const p = chooseQueuePlacement(config(2), facts([0, 1, 2, 3, 4, 5], work, { 'fd5a:ceb9:ed8d:fe0a::': 'eth0' }));
  assert.deepEqual(p.interfaces.map((i) => [i.interface, i.role, i.cpus]), [
    ['eth1', 'outside', [0, 2, 3]],
    ['eth0', 'inside', [4]],
  ]);
  assert.deepEqual(p.receiveCpus, [0, 2, 3, 4]);
  assert.deepEqual(p.cpus, [1, 5]);
});

test('nothing known (veth: no interrupts, RPS off): unpinned, and the reason names the interface', () => {
  const p = chooseQueuePlacement(config(2), facts([0, 1], { eth1: { irqs: [], rpsCpus: [[]] } }));
  assert.equal(p.cpus, null);
  assert.deepEqual(p.threads, [{ queue: 0, cpu: null }, { queue: 1, cpu: null }]);
  assert.match(p.reason, /^not pinned: cannot tell which CPUs take the receive work of eth1/);
  // One queued interface unknown is enough: a pin chosen without it could land on its receive CPU.
  const partly = chooseQueuePlacement(config(1), facts([0, 1, 2], { eth1: { irqs: [irq(40, [0])], rpsCpus: [] }, veth0: { irqs: [], rpsCpus: [[]] } }, { 'fd5a:ceb9:ed8d:fe0a::': 'veth0' }));
  assert.equal(partly.cpus, null);
  assert.match(partly.reason, /receive work of veth0 /);
  // No such interface, or a host that reads nothing at all.
  assert.equal(chooseQueuePlacement(config(1), facts([0, 1], {})).cpus, null);
  assert.equal(chooseQueuePlacement(config(1), { localPortRange: () => null, interfaceAddresses: () => null, conntrackTimeouts: facts(null, {}).conntrackTimeouts }).cpus, null);
});

test('every allowed CPU takes receive work, or the allowed CPUs cannot be read: unpinned', () => {
  const everywhere = chooseQueuePlacement(config(2), facts([0, 1], { eth1: { irqs: [irq(40, [0]), irq(41, [1])], rpsCpus: [] } }));
  assert.equal(everywhere.cpus, null);
  assert.match(everywhere.reason, /every CPU this process may run on \(0,1\) takes receive work/);
  const unreadable = chooseQueuePlacement(config(1), facts(null, { eth1: { irqs: [irq(40, [0])], rpsCpus: [] } }));
  assert.equal(unreadable.cpus, null);
  assert.match(unreadable.reason, /Cpus_allowed_list/);
});

test('a one-CPU machine: unpinned', () => {
  const p = chooseQueuePlacement(config(1), facts([0], { eth1: { irqs: [irq(40, [0])], rpsCpus: [[]] } }));
  assert.equal(p.cpus, null);
  assert.match(p.reason, /may run on one CPU \(0\), which also takes receive work/);
});

test('only CPUs the process may run on are chosen (a cpuset excluding the free ones)', () => {
  const p = chooseQueuePlacement(config(1), facts([2, 3], { eth1: { irqs: [irq(40, [0, 2])], rpsCpus: [] } }));
  assert.deepEqual(p.cpus, [3]);
});

test('an explicit queues.cpus wins, and the host is not read', () => {
  const unreadableHost: HostFacts = {
    ...facts([0, 1], {}),
    receiveWork: () => assert.fail('read the host'),
    allowedCpus: () => assert.fail('read the host'),
  };
  const p = chooseQueuePlacement(config(2, [0]), unreadableHost);
  assert.equal(p.mode, 'explicit');
  assert.deepEqual(p.cpus, [0]);
  assert.deepEqual(p.threads.map((t) => t.cpu), [0, 0]);
});

test('queued interfaces: nptv6 and masquerade outside interfaces, then the routes to the inside prefixes (once each, lo ignored)', () => {
  const cfg = {
    nptv6,
    masquerade: [{ source: ['fd00:1::/64', 'fd00:2::/64'], interface: 'ens192' }],
    queues: { first: 0, count: 1 },
  } as unknown as Parameters<typeof queuedInterfaces>[0];
  const routes = { 'fd5a:ceb9:ed8d:fe0a::': 'eth0', 'fd00:1::': 'eth0', 'fd00:2::': 'lo' };
  assert.deepEqual(queuedInterfaces(cfg, facts([0], {}, routes)), [
    { interface: 'eth1', role: 'outside' },
    { interface: 'ens192', role: 'outside' },
    { interface: 'eth0', role: 'inside' },
  ]);
});

test('cpulist and cpumask formats', () => {
  assert.deepEqual(parseCpuList('0-3,8,10-11\n'), [0, 1, 2, 3, 8, 10, 11]);
  assert.deepEqual(parseCpuList(''), []);
  assert.equal(parseCpuList('3-1'), null);
  assert.equal(parseCpuList('x'), null);
  assert.deepEqual(parseCpuMask('0\n'), []);
  assert.deepEqual(parseCpuMask('2'), [1]);
  assert.deepEqual(parseCpuMask('00000001,0000000c'), [2, 3, 32]);
  assert.equal(parseCpuMask('zz'), null);
});

const interrupts = `           CPU0       CPU1
 24:          1          0  IO-APIC   5-edge      ACPI:Ged
 37:          0          0 PCI-MSIX-0000:00:03.0   0-edge      virtio2-config
 38:          0       1545 PCI-MSIX-0000:00:03.0   1-edge      virtio2-input.0
 39:       1607          0 PCI-MSIX-0000:00:03.0   2-edge      virtio2-output.0
 50:        100          0 PCI-MSI 524288-edge      eth3-TxRx-0
 51:          0        100 PCI-MSI 524289-edge      eth3-TxRx-1
 52:          0        100 PCI-MSI 524290-edge      eth30-TxRx-0
NMI:          0          0   Non-maskable interrupts
`;

test('/proc/interrupts: IRQ number -> action name; device lines only', () => {
  const m = parseInterrupts(interrupts);
  assert.equal(m.get(38), 'virtio2-input.0');
  assert.equal(m.get(50), 'eth3-TxRx-0');
  assert.equal(m.size, 7);
});

test('readReceiveWork: a virtio NIC (MSI-X on the PCI parent, tx and config left out), a NIC named in /proc/interrupts, a veth with RPS', () => {
  const root = mkdtempSync(join(tmpdir(), 'npt66-placement-'));
  try {
    const file = (p: string, text: string) => {
      mkdirSync(dirname(join(root, p)), { recursive: true });
      writeFileSync(join(root, p), text);
    };
    file('proc/interrupts', interrupts);
    for (const [n, cpus] of [[37, '0-1'], [38, '1'], [39, '0'], [50, '0'], [51, '1'], [52, '0-1']] as const) file(`proc/irq/${n}/smp_affinity_list`, `${cpus}\n`);
    // eth0 -> virtio2, whose PCI parent holds the MSI-X vectors.
    for (const n of [37, 38, 39]) file(`devices/pci0000:00/0000:00:03.0/msi_irqs/${n}`, 'msix\n');
    mkdirSync(join(root, 'devices/pci0000:00/0000:00:03.0/virtio2'), { recursive: true });
    file('sys/net/eth0/queues/rx-0/rps_cpus', '0\n');
    symlinkSync(join(root, 'devices/pci0000:00/0000:00:03.0/virtio2'), join(root, 'sys/net/eth0/device'));
    // eth3: a device without msi_irqs in the fixture, found by name only (not eth30's line).
    mkdirSync(join(root, 'devices/eth3dev'), { recursive: true });
    file('sys/net/eth3/queues/rx-0/rps_cpus', '00000000\n');
    symlinkSync(join(root, 'devices/eth3dev'), join(root, 'sys/net/eth3/device'));
    // veth: no device; RPS on CPU 1.
    file('sys/net/veth1/queues/rx-0/rps_cpus', '2\n');

    const read = (name: string) => readReceiveWork(name, join(root, 'sys/net'), join(root, 'proc'));
    assert.deepEqual(read('eth0'), { irqs: [{ irq: 38, name: 'virtio2-input.0', cpus: [1] }], rpsCpus: [[]] });
    assert.deepEqual(read('eth3'), {
      irqs: [
        { irq: 50, name: 'eth3-TxRx-0', cpus: [0] },
        { irq: 51, name: 'eth3-TxRx-1', cpus: [1] },
      ],
      rpsCpus: [[]],
    });
    assert.deepEqual(read('veth1'), { irqs: [], rpsCpus: [[1]] });
    assert.equal(read('nosuch0'), null);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
