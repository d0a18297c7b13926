#!/usr/bin/env node
// npt66 <command> [options]: dispatches to src/commands/<name>.ts.
// A command module exports `summary` (one line for `npt66 --help`) and `run(argv): Promise<number>` (the exit code).
// Exit codes shared by all commands: 0 success, 1 the command's own "no" (e.g. an address was refused),
// 2 bad usage or configuration, 70 an unexpected internal error (EX_SOFTWARE).
import { EXIT_INTERNAL, EXIT_USAGE, exitStatusFor, Npt66Error } from './errors';

export interface Command {
  summary: string;
  run(argv: string[]): Promise<number>;
}

// To add a command: write src/commands/<name>.ts and add one line here. Modules load only when used,
// so a command that needs the queue engine never slows down or breaks `npt66 translate`.
const commands: Record<string, () => Command> = {
  translate: () => require('./commands/translate'),
  run: () => require('./commands/run'),
  check: () => require('./commands/check'),
  stats: () => require('./commands/stats'),
  mappings: () => require('./commands/mappings'),
  lab: () => require('./commands/lab'),
};

function help(): string {
  const lines = ['usage: npt66 <command> [options]', '', 'commands:'];
  const width = Math.max(...Object.keys(commands).map((n) => n.length));
  for (const [name, load] of Object.entries(commands)) {
    let summary: string;
    try {
      summary = load().summary;
    } catch (e) {
      summary = `(unavailable: ${(e as Error).message.split('\n')[0]})`;
    }
    lines.push(`  ${name.padEnd(width)}  ${summary}`);
  }
  lines.push('', "Run 'npt66 <command> --help' for a command's options.");
  return lines.join('\n') + '\n';
}

function version(): string {
  try {
    // dist/src/cli.js -> package.json at the package root
    return (require('../../package.json') as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    process.stderr.write(help());
    return EXIT_USAGE;
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    if (name === 'help' && rest[0] !== undefined) return main([rest[0], '--help']);
    process.stdout.write(help());
    return 0;
  }
  if (name === '--version' || name === '-V') {
    process.stdout.write(`${version()}\n`);
    return 0;
  }
  const load = Object.hasOwn(commands, name) ? commands[name] : undefined;
  if (load === undefined) {
    process.stderr.write(`npt66: unknown command ${JSON.stringify(name)}\n\n${help()}`);
    return EXIT_USAGE;
  }
  try {
    return await load().run(rest);
  } catch (e) {
    if (e instanceof Npt66Error) {
      // Configuration and usage errors are the user's to fix: the message, no stack.
      const hint = e.code === 'ERR_NPT66_USAGE' ? `\nRun 'npt66 ${name} --help' for usage.` : '';
      process.stderr.write(`npt66 ${name}: ${e.message}${hint}\n`);
      return exitStatusFor(e, EXIT_INTERNAL);
    }
    if ((e as { code?: unknown })?.code === 'MODULE_NOT_FOUND' && /npt66\.node/.test((e as Error).message)) {
      process.stderr.write(`npt66 ${name}: the native addon is not built (${(e as Error).message.split('\n')[0]}); run 'npm run build' or set NPT66_ADDON\n`);
      return EXIT_INTERNAL;
    }
    process.stderr.write(`npt66 ${name}: internal error: ${(e as Error)?.stack ?? String(e)}\n`);
    return EXIT_INTERNAL;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`npt66: internal error: ${(e as Error)?.stack ?? String(e)}\n`);
      process.exitCode = EXIT_INTERNAL;
    },
  );
}
