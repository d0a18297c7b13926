// What every namespace lab of these tests shares: a Topology whose namespaces all start with one prefix, held
// under the run lock of that prefix (another live run of the same lab is waited for, never torn down), built
// afresh (a crashed run's namespaces are removed first), torn down by destroy() also when building fails.
import { Topology, type Namespace } from '../../../src/netns';
import { acquireRunLock } from './run_lock';

// N: the names of the lab's namespaces.
export abstract class NetnsLab<N extends string> {
  protected constructor(
    readonly topology: Topology,
    private readonly releaseLock: () => void,
  ) {}

  ns(name: N): Namespace {
    return this.topology.ns(name);
  }

  destroy(): void {
    this.topology.destroySync();
    this.releaseLock();
  }

  // Takes the lock for `prefix`, removes stale namespaces, wraps a new Topology with `wrap` and lets `build`
  // lay out the namespaces, links, addresses and routes.
  protected static async build<L extends NetnsLab<string>>(
    prefix: string,
    wrap: (topology: Topology, releaseLock: () => void) => L,
    build: (topology: Topology) => Promise<void>,
  ): Promise<L> {
    const releaseLock = await acquireRunLock(prefix);
    Topology.removeStale(prefix);
    const lab = wrap(new Topology(prefix), releaseLock);
    try {
      await build(lab.topology);
    } catch (e) {
      lab.destroy();
      throw e;
    }
    return lab;
  }
}
