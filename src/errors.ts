// npt66's one error type: a stable `code` for programs, a message naming the field and the fix for people.

export type Npt66ErrorCode =
  | 'ERR_NPT66_CONFIG' // the configuration is invalid (the message names the field and the fix)
  | 'ERR_NPT66_INVALID_ARG' // an API argument has the wrong type or form
  | 'ERR_NPT66_USAGE' // the command line is wrong
  | (string & {}); // other ERR_NPT66_* codes raised by the addon or later components

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
  if (error instanceof Error && typeof (error as { code?: unknown }).code === 'string') {
    const code = (error as Error & { code: string }).code;
    if (code.startsWith('ERR_NPT66_')) return new Npt66Error(code, error.message, { cause: error });
  }
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
