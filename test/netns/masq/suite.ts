// The before/after pair of every masquerade test file: build the lab, start the translator under test
// (NPT66_NETNS_TRANSLATOR=kernel|npt66, default npt66), and tear both down whatever happened.
import { after, before } from 'node:test';
import { MasqLab } from './masq_lab';
import { createMasqTranslator, translatorKindUnderTest, type MasqOptions, type MasqTranslator, type TranslatorKind } from './translator';

export interface MasqSuite {
  readonly lab: MasqLab;
  readonly translator: MasqTranslator;
  readonly kind: TranslatorKind;
  // Stops the translator if it runs and starts it with `opts` (a fresh table: no mapping survives).
  restart(opts?: MasqOptions): Promise<void>;
}

// Call inside describe(). `prefix` names the namespaces ("nx-tr-"), `name` the daemon's files and socket.
export function masqSuite(prefix: string, name: string, opts: MasqOptions = {}, kind: TranslatorKind = translatorKindUnderTest()): MasqSuite {
  let lab: MasqLab | undefined;
  let translator: MasqTranslator | undefined;
  let running = false;
  before(async () => {
    lab = await MasqLab.create(prefix);
    translator = createMasqTranslator(lab, name, kind);
    await translator.start(opts);
    running = true;
  });
  after(async () => {
    await translator?.dispose();
    lab?.destroy();
  });
  const s: MasqSuite = {
    kind,
    get lab(): MasqLab {
      if (!lab) throw new Error('the lab was not built (see the before() failure)');
      return lab;
    },
    get translator(): MasqTranslator {
      if (!translator) throw new Error('no translator (see the before() failure)');
      return translator;
    },
    async restart(o: MasqOptions = {}): Promise<void> {
      if (running) await s.translator.stop();
      running = false;
      await s.translator.start(o);
      running = true;
    },
  };
  return s;
}
