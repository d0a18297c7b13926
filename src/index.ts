// npt66's public API.
export { Translator, type MapAddressResult, type TranslateResult } from './translator';
export { validateNptv6, type Nptv6Mapping } from './config';
export { parsePrefix, parseAddress, formatAddress, type ParsedPrefix } from './prefix';
export { Npt66Error, fromNativeError, ERROR_CODES, type Npt66ErrorCode } from './errors';
export { Gateway, type GatewayEvent, type GatewayOptions, type GatewayStats, type GatewayState, type ReloadResult } from './gateway';
export { compileGatewayConfig, loadGatewayConfig, type GatewayConfig, type GatewayConfigInput } from './gateway-config';
export type { Action, Direction } from './native';
export type { KernelQueueFigures, MappingEventType, MappingRecord, QueueStats } from './engine-records';
// Every counter npt66 keeps, with its kind (event or drop) and a one-line description (native/core/counters.def).
export { counterDescriptions, type CounterDescription } from './counters';
