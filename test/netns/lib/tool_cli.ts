// The command line of the endpoint programs the namespace tests run inside namespaces (`node TOOL COMMAND
// ARGS...`, e.g. traffic_tool.js, masq/flow_tool.js): results as JSON lines on stdout, a failure as a message on
// stderr and exit status 1.

export function print(obj: object): void {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
}

export function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

// A command gets its arguments, and `n(i)`: argument i as a non-negative integer (or a failure naming it).
export type ToolCommand = (args: string[], n: (i: number) => number) => void | Promise<void>;

// Runs the command `argv[0]` of `commands`; an unknown one fails with the usage of `tool`.
export function runTool(tool: string, commands: Record<string, ToolCommand>, argv: string[]): void {
  const [cmd, ...a] = argv;
  const n = (i: number): number => {
    const v = Number(a[i]);
    if (!Number.isInteger(v) || v < 0) fail(`${cmd}: argument ${i + 1} must be a non-negative integer, got ${a[i]}`);
    return v;
  };
  const command = cmd !== undefined && Object.hasOwn(commands, cmd) ? commands[cmd] : undefined;
  if (!command) fail(`usage: ${tool} ${Object.keys(commands).join('|')} ... (got ${cmd})`);
  void command(a, n);
}
