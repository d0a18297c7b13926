// The whole native surface in one place: what build/Release/npt66.node exports, typed.
import * as path from 'node:path';

export type Direction = 'outbound' | 'inbound';
export type Action = 'translated' | 'not-ours' | 'drop';

export interface NativeMapping {
  inside: Buffer;
  insideLength: number;
  outside: Buffer;
  outsideLength: number;
}

export interface NativeMapResult {
  output: Buffer | null;
  reason: string | null;
  mapping: number;
}

export interface NativeTranslateResult {
  action: Action;
  reason: string;
  mapping: number;
  pointer: number;
  packet: Buffer;
}

export interface NativeTranslator {
  mapAddress(address: Buffer, direction: Direction): NativeMapResult;
  translate(packet: Buffer, direction: Direction): NativeTranslateResult;
  counters(): Record<string, number>;
}

export interface CounterDescription {
  name: string;
  kind: 'event' | 'drop';
  help: string;
}

export interface NativeAddon {
  Translator: new (mappings: NativeMapping[]) => NativeTranslator;
  counterDescriptions: CounterDescription[];
}

// dist/src/native.js -> <package root>/build/Release/npt66.node; NPT66_ADDON points elsewhere (e.g. a node-gyp build).
export const addonPath = process.env.NPT66_ADDON ?? path.resolve(__dirname, '..', '..', 'build', 'Release', 'npt66.node');

// eslint-disable-next-line @typescript-eslint/no-require-imports
export const native: NativeAddon = require(addonPath);
