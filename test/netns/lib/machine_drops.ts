// Packets the kernel dropped machine-wide because a CPU's input backlog was full (/proc/net/softnet_stat,
// second column, summed over CPUs). veth delivery goes through that backlog in every namespace, so a flood
// anywhere on the machine (another test, a benchmark) can drop a packet of ours that no translator touched.
// Loss-sensitive tests use it to tell "the gateway lost it" from "the machine lost it".
import { readFileSync } from 'node:fs';

export function backlogDrops(): number {
  return readFileSync('/proc/net/softnet_stat', 'utf8')
    .split('\n')
    .filter(Boolean)
    .reduce((n, line) => n + parseInt(line.trim().split(/\s+/)[1] ?? '0', 16), 0);
}
