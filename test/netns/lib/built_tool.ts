// Where the test tools of test/tools/*.cc (pktio, udpgso, ...) were built: by the same cmake-js build as the
// addon (`cmake-js compile --out DIR` puts the addon in DIR/Release/ and executables in DIR/). An environment
// variable (e.g. NPT66_PKTIO) overrides; the package's build/ is the last resort.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { addonPath } from '../../../src/native';

export function findBuiltTool(name: string, envVar: string): string {
  const packageRoot = path.resolve(__dirname, '..', '..', '..', '..');
  const candidates = [process.env[envVar], path.join(path.dirname(addonPath), '..', name), path.join(path.dirname(addonPath), name), path.join(packageRoot, 'build', name)].filter(
    (c): c is string => !!c,
  );
  for (const c of candidates) if (fs.existsSync(c)) return path.resolve(c);
  throw new Error(`${name} not found (tried ${candidates.join(', ')}); build it with \`npm run build:native\` or set ${envVar}`);
}
