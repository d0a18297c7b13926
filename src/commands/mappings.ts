// npt66 mappings: the running daemon's live masquerade mappings, read through its root-only control socket,
// printed like `conntrack -L` (or as JSON).
import { DEFAULT_SOCKET } from '../gateway-config';
import { formatMappingsTable, mappingJson } from '../mapping-format';
import type { MappingRecord } from '../engine-records';
import { askDaemon, controlSocket, parseCommandLine } from './common';

export const summary = "list the running gateway's live masquerade mappings (like conntrack -L)";

const usage = `usage: npt66 mappings [--json] [--socket PATH | -c FILE]

Lists the live NAT66 masquerade mappings of the running \`npt66 run\` through its control socket (root only):
protocol, state, seconds until expiry, inside, outside and last remote endpoint ([address]:port; for ICMPv6
echo the port is the identifier), how many remotes the mapping lets in (address-dependent filtering: each
address it sent to, TCP: each connection, until idle for its timeout), packets and bytes each way (out =
inside to outside).
  --json            print a JSON array, one object per mapping (the fields of the log's "mapping" lines), with
                    "remotes": each live remote, when it expires unless refreshed, and a TCP connection's state
  --socket PATH     the daemon's control socket (default ${DEFAULT_SOCKET}; /run/npt66/NAME.sock inside
                    network namespace NAME, where the daemon's default is the same)
  -c, --config FILE take the socket path from the daemon's configuration file
Exit status: 0 printed, 1 no daemon reachable, 2 bad usage.
`;

// What the daemon's "mappings" command answers.
export interface MappingsReply {
  time: number; // ms since the Unix epoch, when the snapshot was taken
  mappings: MappingRecord[];
}

export async function run(argv: string[]): Promise<number> {
  const parsed = parseCommandLine(argv, usage, {
    json: { type: 'boolean', default: false },
    socket: { type: 'string' },
    config: { type: 'string', short: 'c' },
  });
  if (!parsed) return 0;
  const { values } = parsed;
  const reply = await askDaemon<MappingsReply>('mappings', controlSocket(values), 'mappings');
  if (!reply) return 1;
  if (values.json) process.stdout.write(`${JSON.stringify(reply.mappings.map(mappingJson), null, 2)}\n`);
  else process.stdout.write(formatMappingsTable(reply.mappings, reply.time));
  return 0;
}
