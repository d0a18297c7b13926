// The systemd units in systemd/ (issue 11 part 5): `systemd-analyze verify` accepts them without a single
// warning (an unknown or misspelt key is only a warning there, so any output fails), their hardening keeps
// `systemd-analyze security --offline` at an exposure of at most 3.0, and they say what npt66 relies on:
// Type=notify (READY=1 from the daemon), SIGHUP for reload, exactly the three capabilities it uses.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, test } from 'node:test';

// dist/test/ts -> the repository root.
const ROOT = resolve(__dirname, '..', '..', '..');
const UNITS = join(ROOT, 'systemd');
const INSTALLED_BIN = '/usr/local/bin/npt66';
const CLI = join(ROOT, 'dist', 'src', 'cli.js');

function analyzeWorks(): string | null {
  const r = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return `systemd-analyze cannot run here (${r.error?.message ?? r.stderr.trim()}); install Debian's systemd package`;
  return null;
}
const cannotRun = analyzeWorks();

const work = mkdtempSync(join(tmpdir(), 'npt66-units-'));
after(() => rmSync(work, { recursive: true, force: true }));

// The unit as installed, but with ExecStart pointing at this checkout (verify checks the command exists).
function staged(unit: string, as = unit): string {
  const text = readFileSync(join(UNITS, unit), 'utf8');
  assert.ok(text.includes(`ExecStart=${INSTALLED_BIN} `), `${unit} starts ${INSTALLED_BIN}`);
  const file = join(work, as);
  writeFileSync(file, text.replaceAll(`ExecStart=${INSTALLED_BIN} `, `ExecStart=${process.execPath} ${CLI} `));
  return file;
}

function analyze(args: string[]): { status: number | null; output: string } {
  const r = spawnSync('systemd-analyze', args, { encoding: 'utf8', cwd: work });
  return { status: r.status, output: `${r.stdout}${r.stderr}`.trim() };
}

function settings(unit: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of readFileSync(join(UNITS, unit), 'utf8').split('\n')) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (m) out.set(m[1]!, [...(out.get(m[1]!) ?? []), m[2]!]);
  }
  return out;
}

// Skipped, with the reason, only when the tool cannot run at all.
describe('systemd units', { skip: cannotRun ?? false }, () => {
  for (const [unit, instance] of [
    ['npt66.service', 'npt66.service'],
    ['npt66@.service', 'npt66@gw.service'],
  ] as const) {
    test(`${unit}: systemd-analyze verify, no warnings`, () => {
      const file = staged(unit, instance);
      const r = analyze(['verify', '--man=no', file]);
      assert.equal(r.status, 0, r.output);
      assert.equal(r.output, '', `systemd-analyze verify warns about ${unit}`);
      if (unit !== instance) {
        const template = analyze(['verify', '--man=no', staged(unit)]);
        assert.equal(template.status, 0, template.output);
        assert.equal(template.output, '');
      }
    });

    test(`${unit}: hardened (systemd-analyze security --offline: exposure at most 3.0)`, () => {
      const file = staged(unit, instance);
      const r = analyze(['security', '--offline=yes', '--threshold=30', '--no-pager', file]);
      assert.equal(r.status, 0, r.output);
      assert.match(r.output, /Overall exposure level/);
    });

    test(`${unit}: notify, reload by SIGHUP, only the capabilities npt66 uses`, () => {
      const s = settings(unit);
      assert.deepEqual(s.get('Type'), ['notify']);
      assert.deepEqual(s.get('ExecReload'), ['/bin/kill -HUP $MAINPID']);
      assert.deepEqual(s.get('CapabilityBoundingSet'), ['CAP_NET_ADMIN CAP_NET_RAW CAP_SYS_NICE']);
      assert.deepEqual(s.get('ProtectSystem'), ['strict']);
      assert.deepEqual(s.get('PrivateTmp'), ['yes']);
      assert.deepEqual(s.get('NoNewPrivileges'), ['yes']);
      assert.deepEqual(s.get('RuntimeDirectory'), ['npt66']); // the control socket's directory, /run/npt66
      assert.deepEqual(s.get('RuntimeDirectoryPreserve'), ['yes']); // shared by instances
    });
  }

  test('npt66@.service joins the named namespace and reads its own configuration', () => {
    const s = settings('npt66@.service');
    assert.deepEqual(s.get('NetworkNamespacePath'), ['/run/netns/%i']);
    assert.deepEqual(s.get('ExecStart'), [`${INSTALLED_BIN} run -c /etc/npt66/%i.json`]);
  });
});
