// npt66's one error type: a stable `code` for programs, a message naming the field and the fix for people.

// Every code npt66 raises (here and in the addon, native/binding), what it means, and whether it is the user's to
// fix: those exit 2 from every command (EXIT_USAGE); the others are failures, whose exit status the command picks
// (`npt66 run` 1, the rest 70). test/ts/errors.test.ts checks that src/ and native/ use no code missing here.
export const ERROR_CODES = {
  ERR_NPT66_CONFIG: { usersToFix: true, meaning: 'the configuration is invalid (the message names the field and the fix)' },
  ERR_NPT66_INVALID_ARG: { usersToFix: true, meaning: 'an API argument has the wrong type or form' },
  ERR_NPT66_USAGE: { usersToFix: true, meaning: 'the command line is wrong' },
  ERR_NPT66_STATE: { usersToFix: false, meaning: 'not now: the engine or gateway is in the wrong state (started twice, still starting, stopping)' },
  ERR_NPT66_QUEUE: { usersToFix: false, meaning: 'a netfilter queue cannot be bound or configured (errno, syscall and queue say why)' },
  ERR_NPT66_ENGINE_UNAVAILABLE: { usersToFix: false, meaning: 'the addon was built without the queue engine or masquerade' },
  ERR_NPT66_REASSEMBLY: { usersToFix: false, meaning: 'masquerade needs the kernel to reassemble IPv6 fragments and it cannot here' },
  ERR_NPT66_RELOAD: { usersToFix: false, meaning: 'a reload changes what needs a restart; the running configuration stays' },
  ERR_NPT66_RULES: { usersToFix: false, meaning: 'the netfilter rules cannot be installed, replaced or removed' },
  ERR_NPT66_CONTROL: { usersToFix: false, meaning: 'the control socket cannot be served or reached' },
} as const satisfies Record<`ERR_NPT66_${string}`, { usersToFix: boolean; meaning: string }>;

export type Npt66ErrorCode = keyof typeof ERROR_CODES;

// Exit statuses shared by all commands: the user's to fix (bad usage or configuration), and an unexpected
// internal error (EX_SOFTWARE).
export const EXIT_USAGE = 2;
export const EXIT_INTERNAL = 70;

export function isNpt66ErrorCode(code: unknown): code is Npt66ErrorCode {
  return typeof code === 'string' && Object.hasOwn(ERROR_CODES, code);
}

// EXIT_USAGE for an error the user must fix, else `failure` (the command's status for a failure).
export function exitStatusFor(error: unknown, failure: number): number {
  const code = (error as { code?: unknown } | null)?.code;
  return isNpt66ErrorCode(code) && ERROR_CODES[code].usersToFix ? EXIT_USAGE : failure;
}

export class Npt66Error extends Error {
  readonly code: Npt66ErrorCode;
  readonly field?: string;

  constructor(code: Npt66ErrorCode, message: string, options: { field?: string; cause?: unknown } = {}) {
    super(options.field ? `${options.field}: ${message}` : message, { cause: options.cause });
    this.name = 'Npt66Error';
    this.code = code;
    if (options.field !== undefined) this.field = options.field;
  }
}

export function configError(field: string, message: string): Npt66Error {
  return new Npt66Error('ERR_NPT66_CONFIG', message, { field });
}

export function invalidArgument(field: string, message: string): Npt66Error {
  return new Npt66Error('ERR_NPT66_INVALID_ARG', message, { field });
}

export function usageError(message: string): Npt66Error {
  return new Npt66Error('ERR_NPT66_USAGE', message);
}

// The addon throws plain Errors carrying `code` (native/binding/convert.cc); keep the code, make the type ours.
// Anything that is not such an error (a bug, an out-of-memory) is returned unchanged.
export function fromNativeError(error: unknown): unknown {
  if (error instanceof Npt66Error) return error;
  const code = (error as { code?: unknown } | null)?.code;
  if (error instanceof Error && isNpt66ErrorCode(code)) return new Npt66Error(code, error.message, { cause: error });
  return error;
}

// node:util parseArgs throws TypeErrors coded ERR_PARSE_ARGS_*; they are usage errors (exit 2), not bugs.
export function fromParseArgsError(error: unknown): unknown {
  const code = (error as { code?: unknown } | null)?.code;
  if (error instanceof Error && typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_')) {
    return new Npt66Error('ERR_NPT66_USAGE', error.message, { cause: error });
  }
  return error;
}
