// npt66 mappings: the running daemon's live masquerade mappings, read through its root-only control socket,
// printed like `conntrack -L` (or as JSON).
import { parseArgs } from 'node:util';

import { controlRequest } from '../control';
import { fromParseArgsError, Npt66Error } from '../errors';
import { DEFAULT_SOCKET, loadGatewayConfig } from '../gateway-config';
import { formatMappingsTable, mappingJson } from '../mapping-format';
import type { NativeMappingRecord } from '../native';

export const summary = "list the running gateway's live masquerade mappings (like conntrack -L)";

const usage = `usage: npt66 mappings [--json] [--socket PATH | -c FILE]

Lists the live NAT66 masquerade mappings of the running \`npt66 run\` through its control socket (root only):
protocol, state, seconds until expiry, inside, outside and remote endpoints ([address]:port; for ICMPv6 echo
the port is the identifier), packets and bytes each way (out = inside to outside).
  --json            print a JSON array, one object per mapping (the fields of the log's "mapping" lines)
  --socket PATH     the daemon's control socket (default ${DEFAULT_SOCKET})
  -c, --config FILE take the socket path from the daemon's configuration file
Exit status: 0 printed, 1 no daemon reachable, 2 bad usage.
`;

// What the daemon's "mappings" command answers.
export interface MappingsReply {
  time: number; // ms since the Unix epoch, when the snapshot was taken
  mappings: NativeMappingRecord[];
}

export async function run(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        json: { type: 'boolean', default: false },
        socket: { type: 'string' },
        config: { type: 'string', short: 'c' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (e) {
    throw fromParseArgsError(e);
  }
  if (values.help) {
    process.stdout.write(usage);
    return 0;
  }
  const socket = values.socket ?? (values.config ? loadGatewayConfig(values.config).config.control.socket : DEFAULT_SOCKET);
  let reply: MappingsReply;
  try {
    reply = (await controlRequest(socket, 'mappings')) as MappingsReply;
  } catch (e) {
    if (e instanceof Npt66Error && e.code !== 'ERR_NPT66_CONFIG') {
      process.stderr.write(`npt66 mappings: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
  if (values.json) process.stdout.write(`${JSON.stringify(reply.mappings.map(mappingJson), null, 2)}\n`);
  else process.stdout.write(formatMappingsTable(reply.mappings, reply.time));
  return 0;
}
