// The daemon's side of sd_notify (src/service-notify.ts) with a stand-in for the addon's sdNotify: nothing is sent
// without NOTIFY_SOCKET, the messages are KEY=VALUE lines (a newline inside a value cannot start a forged line),
// and a lost notification is reported, never thrown. The datagrams themselves: test/native/nfq_sd_notify_test.cc
// and test/netns/systemd_notify.test.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { notifyMessage, ServiceNotifier } from '../../src/service-notify';

function recorder(result = { sent: true, error: '' }) {
  const sent: string[] = [];
  return { sent, send: (state: string) => (sent.push(state), result) };
}

test('without NOTIFY_SOCKET nothing is sent', () => {
  const r = recorder();
  const errors: string[] = [];
  const n = new ServiceNotifier((m) => errors.push(m), r.send, {});
  assert.equal(n.ready('x'), false);
  assert.deepEqual(r.sent, []);
  assert.deepEqual(errors, []);
});

test('READY, RELOADING with MONOTONIC_USEC, STOPPING, STATUS as newline-terminated lines', () => {
  const r = recorder();
  const n = new ServiceNotifier(() => assert.fail('no error expected'), r.send, { NOTIFY_SOCKET: '/run/systemd/notify' });
  assert.equal(n.ready('translating: 1 NPTv6 mapping(s)'), true);
  n.reloading();
  n.stopping('stopping (SIGTERM)');
  n.status('start failed');
  assert.equal(r.sent[0], 'READY=1\nSTATUS=translating: 1 NPTv6 mapping(s)\n');
  assert.match(r.sent[1]!, /^RELOADING=1\nMONOTONIC_USEC=\d+\nSTATUS=reloading the configuration\n$/);
  assert.equal(r.sent[2], 'STOPPING=1\nSTATUS=stopping (SIGTERM)\n');
  assert.equal(r.sent[3], 'STATUS=start failed\n');
});

test('a value with newlines stays one line (an error message cannot inject READY=1)', () => {
  assert.equal(notifyMessage({ STATUS: 'reload failed: bad file\nREADY=1\n  more' }), 'STATUS=reload failed: bad file READY=1 more\n');
});

test('a lost notification is reported, not thrown; an addon without sdNotify says so', () => {
  const errors: string[] = [];
  const failing = recorder({ sent: false, error: 'sending to NOTIFY_SOCKET /x: No such file or directory' });
  assert.equal(new ServiceNotifier((m) => errors.push(m), failing.send, { NOTIFY_SOCKET: '/x' }).ready('x'), false);
  assert.equal(new ServiceNotifier((m) => errors.push(m), null, { NOTIFY_SOCKET: '/x' }).ready('x'), false);
  assert.equal(errors.length, 2);
  assert.match(errors[0]!, /cannot notify the service manager: sending to NOTIFY_SOCKET \/x/);
  assert.match(errors[1]!, /cannot notify \(rebuild it\)/);
});
