// What `npm pack` ships (issue 11 part 8): what a user needs to run npt66 and to build its addon from source, and
// nothing of the checkout's tests, benchmarks, builds or scripts. Read from `npm pack --dry-run --json` (no
// lifecycle scripts: it lists what is there, dist/ included, without rebuilding it).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, posix, resolve } from 'node:path';
import { describe, test } from 'node:test';

// dist/test/ts -> the repository root.
const ROOT = resolve(__dirname, '..', '..', '..');

interface PackedFile { path: string }
interface PackReport { files: PackedFile[]; entryCount: number }

function packList(): string[] {
  const r = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(r.status, 0, `npm pack --dry-run failed: ${r.error?.message ?? r.stderr}`);
  const [report] = JSON.parse(r.stdout) as PackReport[];
  return report.files.map((f) => f.path).sort();
}

const shipped = packList();
const has = new Set(shipped);
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  bin: Record<string, string>;
  main: string;
  types: string;
  scripts: Record<string, string>;
  dependencies: Record<string, string>;
};

describe('npm pack', () => {
  test('ships none of the tests, benchmarks, builds, scripts or CI of the checkout', () => {
    const unwanted = /^(test|bench|build|build-[^/]*|dist\/test|dist\/bench|scripts|\.ci|node_modules|prebuilds\/[^/]*\/.*\.(o|a))\/|^(CMakeLists\.txt|tsconfig\.json)$/;
    assert.deepEqual(shipped.filter((f) => unwanted.test(f)), []);
    assert.ok(!shipped.some((f) => f.startsWith('bench/results/')));
  });

  test('ships the compiled library, its types, the command and what they read', () => {
    for (const f of [pkg.main, pkg.types, ...Object.values(pkg.bin), 'dist/src/index.js', 'dist/src/cli.js', 'package.json', 'README.md',
      'schema/npt66.schema.json', 'systemd/npt66.service', 'systemd/npt66@.service']) {
      assert.ok(has.has(f.replace(/^\.\//, '')), `${f} is not in the package`);
    }
  });

  test('ships every native source binding.gyp compiles, so the install script can build from source', () => {
    assert.ok(has.has('binding.gyp'));
    assert.match(pkg.scripts.install, /node-gyp-build/);
    for (const dir of ['native/core', 'native/nfq', 'native/binding']) {
      const sources = readdirSync(join(ROOT, dir)).filter((f) => /\.(cc|h|def)$/.test(f));
      assert.ok(sources.length > 0, dir);
      for (const f of sources) assert.ok(has.has(`${dir}/${f}`), `${dir}/${f} is not in the package`);
    }
  });

  // A relative require that leaves the package, or a package that is only a devDependency, works in the checkout
  // and fails for every user: each shipped module's requires must resolve inside the package or to a dependency.
  test('every require of the shipped JavaScript resolves inside the package or to a declared dependency', () => {
    const missing: string[] = [];
    for (const file of shipped.filter((f) => f.endsWith('.js'))) {
      const text = readFileSync(join(ROOT, file), 'utf8');
      for (const [, spec] of text.matchAll(/require\(['"]([^'"]+)['"]\)/g)) {
        if (spec.startsWith('.')) {
          const target = posix.join(posix.dirname(file), spec);
          if (![target, `${target}.js`, `${target}/index.js`].some((t) => has.has(t))) missing.push(`${file}: ${spec}`);
        } else {
          const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0];
          if (!name.startsWith('node:') && !builtinModules.includes(name) && !(name in pkg.dependencies)) missing.push(`${file}: ${spec}`);
        }
      }
    }
    assert.deepEqual(missing, []);
  });
});
