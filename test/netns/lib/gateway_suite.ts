// The before/after pair every gateway test file uses: build the lab, start the translator under test, and
// tear both down whatever happened (after() runs when a test or before() fails; the Topology's exit hook
// covers a process that dies).
import { after, before } from 'node:test';
import { GatewayLab, type LabOptions } from './gateway_lab';
import { createTranslator, translatorKindUnderTest, type GatewayTranslator, type TranslatorKind } from './translator';

export interface GatewaySuite {
  readonly lab: GatewayLab;
  readonly translator: GatewayTranslator;
  readonly kind: TranslatorKind;
}

// Call inside describe(). `prefix` names the namespaces ("nt-xx-"), `name` the daemon's files and socket.
export function gatewaySuite(prefix: string, name: string, opts: LabOptions & { startTranslator?: boolean } = {}): GatewaySuite {
  let lab: GatewayLab | undefined;
  let translator: GatewayTranslator | undefined;
  const kind = translatorKindUnderTest();
  before(async () => {
    lab = await GatewayLab.create(prefix, opts);
    translator = createTranslator(lab, name, kind);
    if (opts.startTranslator !== false) await translator.start();
  });
  after(async () => {
    await translator?.dispose();
    lab?.destroy();
  });
  return {
    kind,
    get lab(): GatewayLab {
      if (!lab) throw new Error('the lab was not built (see the before() failure)');
      return lab;
    },
    get translator(): GatewayTranslator {
      if (!translator) throw new Error('no translator (see the before() failure)');
      return translator;
    },
  };
}
