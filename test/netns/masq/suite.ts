// The before/after pair of every masquerade test file (lib/lab_suite.ts): the Docker-host lab and the translator
// under test (NPT66_NETNS_TRANSLATOR=kernel|npt66, default npt66), started with the file's options.
import { labSuite, type LabSuite } from '../lib/lab_suite';
import { MasqLab } from './masq_lab';
import { createMasqTranslator, translatorKindUnderTest, type MasqOptions, type MasqTranslator, type TranslatorKind } from './translator';

export interface MasqSuite extends LabSuite<MasqLab, MasqTranslator> {
  readonly kind: TranslatorKind;
  // Stops the translator if it runs and starts it with `opts` (a fresh table: no mapping survives).
  restart(opts?: MasqOptions): Promise<void>;
}

// Call inside describe(). `prefix` names the namespaces ("nx-tr-"), `name` the daemon's files and socket.
export function masqSuite(prefix: string, name: string, opts: MasqOptions = {}, kind: TranslatorKind = translatorKindUnderTest()): MasqSuite {
  let running = false;
  const suite = labSuite(
    () => MasqLab.create(prefix),
    (lab) => createMasqTranslator(lab, name, kind),
    async (translator) => {
      await translator.start(opts);
      running = true;
    },
  );
  return Object.assign(suite, {
    kind,
    async restart(o: MasqOptions = {}): Promise<void> {
      if (running) await suite.translator.stop();
      running = false;
      await suite.translator.start(o);
      running = true;
    },
  });
}
