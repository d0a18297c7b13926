// Translator: offline NPTv6 (RFC 6296) over validated mappings, a typed facade over the addon's Translator.
// It translates addresses and whole packets without any queue, for `npt66 translate`, tests and tooling.
import { invalidArgument } from './errors';
import { validateNptv6, type Nptv6Mapping } from './config';
import { callNative, native, type Action, type Direction, type NativeTranslator } from './native';
import { formatAddress, parseAddress } from './prefix';

export interface MapAddressResult {
  input: string; // the address as given
  output: string | null; // RFC 5952 form, or null when refused
  reason: string | null; // null when translated, else a counter name (e.g. not_ours, drop_subnet_ffff)
}

export interface TranslateResult {
  action: Action;
  reason: string; // the counter this packet was counted under (e.g. nptv6_outbound, not_ours, drop_truncated)
  mapping: number; // index of the matched mapping, -1 when not ours
  pointer: number; // for refusals: offset of the offending address (8 source, 24 destination), else 0
  packet: Buffer; // a translated copy (unchanged bytes unless action is 'translated')
}

function checkDirection(direction: unknown): asserts direction is Direction {
  if (direction !== 'outbound' && direction !== 'inbound') {
    throw invalidArgument('direction', `must be 'outbound' (inside -> outside) or 'inbound' (outside -> inside), got ${JSON.stringify(direction)}`);
  }
}

export class Translator {
  readonly #native: NativeTranslator;

  // Throws Npt66Error ERR_NPT66_CONFIG, naming the field ("nptv6[1].outside") and the fix.
  constructor(mappings: readonly Nptv6Mapping[]) {
    const compiled = validateNptv6(mappings);
    this.#native = callNative(() => new native.Translator(compiled));
  }

  // What `address` becomes in `direction`; refusals name the reason. Does not count anything.
  mapAddress(address: string, direction: Direction): MapAddressResult {
    checkDirection(direction);
    const bytes = parseAddress(address, 'address');
    const r = callNative(() => this.#native.mapAddress(bytes, direction));
    return { input: address, output: r.output ? formatAddress(r.output) : null, reason: r.reason };
  }

  // Translates a complete IPv6 packet (outbound: source, inbound: destination, plus an ICMPv6 error's
  // embedded header) and counts the outcome. The input buffer is never modified.
  translate(packet: Buffer, direction: Direction): TranslateResult {
    if (!Buffer.isBuffer(packet)) throw invalidArgument('packet', 'must be a Buffer holding a complete IPv6 packet');
    checkDirection(direction);
    const r = callNative(() => this.#native.translate(packet, direction));
    return { action: r.action, reason: r.reason, mapping: r.mapping, pointer: r.pointer, packet: r.packet };
  }

  // Counts since construction, by counter name (see counterDescriptions for what each means).
  counters(): Record<string, number> {
    return callNative(() => this.#native.counters());
  }
}
