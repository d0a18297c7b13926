// The before/after pair every gateway test file uses (lab_suite.ts): the gateway lab, the translator under test
// (NPT66_NETNS_TRANSLATOR=kernel|npt66, default npt66), started unless told otherwise.
import { GatewayLab, type LabOptions } from './gateway_lab';
import { labSuite, type LabSuite } from './lab_suite';
import { createTranslator, translatorKindUnderTest, type GatewayTranslator, type TranslatorKind } from './translator';

export interface GatewaySuite extends LabSuite<GatewayLab, GatewayTranslator> {
  readonly kind: TranslatorKind;
}

// Call inside describe(). `prefix` names the namespaces ("nt-xx-"), `name` the daemon's files and socket.
export function gatewaySuite(prefix: string, name: string, opts: LabOptions & { startTranslator?: boolean } = {}): GatewaySuite {
  const kind = translatorKindUnderTest();
  const suite = labSuite(
    () => GatewayLab.create(prefix, opts),
    (lab) => createTranslator(lab, name, kind),
    async (translator) => {
      if (opts.startTranslator !== false) await translator.start();
    },
  );
  return Object.assign(suite, { kind });
}
