// Running the rule commands: argument arrays, never a shell; a failure names the command and its error.
import { execFile } from 'node:child_process';

import { Npt66Error } from '../errors';

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

export type CommandRunner = (argv: string[], input?: string) => Promise<CommandResult>;

export const execRunner: CommandRunner = (argv, input) =>
  new Promise((resolve) => {
    const child = execFile(argv[0]!, argv.slice(1), { encoding: 'utf8', timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 127) : 0;
      resolve({ code, stdout, stderr: stderr || (err && code === 127 ? err.message : '') });
    });
    if (input !== undefined) child.stdin?.end(input);
  });

export function rulesError(argv: string[], r: CommandResult): Npt66Error {
  return new Npt66Error('ERR_NPT66_RULES', `${argv.join(' ')} failed (exit ${r.code}): ${r.stderr.trim() || r.stdout.trim()}`);
}
