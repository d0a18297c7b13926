// What the npt66 commands share before their own work: the command line (parse errors are usage errors,
// -h/--help prints the usage), the configuration file of -c FILE, and the running daemon's control socket.
import { parseArgs, type ParseArgsConfig } from 'node:util';

import { controlRequest } from '../control';
import { fromParseArgsError, Npt66Error, usageError } from '../errors';
import { defaultControlSocket } from '../control-socket-path';
import { loadGatewayConfig } from '../gateway-config';

type Options = NonNullable<ParseArgsConfig['options']>;

const HELP = { help: { type: 'boolean', short: 'h', default: false } } as const;

// What parseArgs gives for the command's options (and --help).
export type CommandLine<O extends Options, P extends boolean> = ReturnType<typeof parseArgs<{ args: string[]; options: O & typeof HELP; allowPositionals: P }>>;

// Parses `argv` with the command's `options` and -h/--help. Returns null after printing `usage` for --help:
// the command then exits 0 without doing anything else.
export function parseCommandLine<const O extends Options, const P extends boolean = false>(
  argv: string[],
  usage: string,
  options: O,
  allowPositionals: P = false as P,
): CommandLine<O, P> | null {
  let parsed: CommandLine<O, P>;
  try {
    parsed = parseArgs({ args: argv, options: { ...options, ...HELP }, allowPositionals });
  } catch (e) {
    throw fromParseArgsError(e);
  }
  if ((parsed.values as { help?: boolean }).help) {
    process.stdout.write(usage);
    return null;
  }
  return parsed;
}

// The configuration file a command cannot do without (-c FILE).
export function requireConfigFile(file: string | undefined): string {
  if (!file) throw usageError('give the configuration file with -c FILE');
  return file;
}

// The daemon's control socket: --socket PATH, else the one named in -c FILE, else the default of the network
// namespace this runs in (the daemon's default there too: `ip netns exec X npt66 stats` finds X's daemon).
export function controlSocket(values: { socket?: string; config?: string }): string {
  return values.socket ?? (values.config ? loadGatewayConfig(values.config).config.control.socket : defaultControlSocket());
}

// Asks the running daemon (`command` on its control socket). A daemon that cannot be reached or answers with an
// error is reported on stderr as "npt66 NAME: ..." and gives null: the command then exits 1.
export async function askDaemon<T>(name: string, socket: string, command: string): Promise<T | null> {
  try {
    return (await controlRequest(socket, command)) as T;
  } catch (e) {
    if (e instanceof Npt66Error && e.code !== 'ERR_NPT66_CONFIG') {
      process.stderr.write(`npt66 ${name}: ${e.message}\n`);
      return null;
    }
    throw e;
  }
}
