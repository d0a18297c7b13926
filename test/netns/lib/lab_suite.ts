// The before/after pair of every lab test file (gateway and masquerade alike): build the lab, create the translator
// under test and start it, and tear both down whatever happened (after() runs when a test or before() fails; the
// Topology's exit hook covers a process that dies).
import { after, before } from 'node:test';

export interface LabSuite<L, T> {
  readonly lab: L;
  readonly translator: T;
}

// Call inside describe().
export function labSuite<L extends { destroy(): void }, T extends { dispose(): Promise<void> }>(
  createLab: () => Promise<L>,
  createTranslator: (lab: L) => T,
  start: (translator: T) => Promise<void>,
): LabSuite<L, T> {
  let lab: L | undefined;
  let translator: T | undefined;
  before(async () => {
    lab = await createLab();
    translator = createTranslator(lab);
    await start(translator);
  });
  after(async () => {
    await translator?.dispose();
    lab?.destroy();
  });
  return {
    get lab(): L {
      if (!lab) throw new Error('the lab was not built (see the before() failure)');
      return lab;
    },
    get translator(): T {
      if (!translator) throw new Error('no translator (see the before() failure)');
      return translator;
    },
  };
}
