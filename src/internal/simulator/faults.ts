/**
 * The faults the simulator can produce, in the order the random draw
 * considers them. Public docs live on `Simulator.Fault`.
 *
 * @internal
 */
import { Schema } from "effect"

/** @internal */
export const Fault = Schema.Literal(
  "overloaded",
  "rateLimited",
  "quotaExhausted",
  "serverError",
  "badGateway",
  "gatewayTimeout",
  "contentFilter",
  "truncated",
  "emptyOutput",
  "malformedJson",
  "connectionReset",
  "hang",
  "oversizedBody",
  "slowDrip",
  "midResponseDisconnect"
)

/** @internal */
export type Fault = typeof Fault.Type

/** @internal */
export const FAULTS: ReadonlyArray<Fault> = Fault.literals

/** @internal */
export const isFault = (name: string): name is Fault => (FAULTS as ReadonlyArray<string>).includes(name)

/** Length of an `oversizedBody` answer (5 MiB). @internal */
export const OVERSIZED_BODY_BYTES = 5 * 1024 * 1024

/** Bytes per piece of a `slowDrip` answer. @internal */
export const SLOW_DRIP_BYTES = 8

/** `Clock` milliseconds between the pieces of a `slowDrip` answer. @internal */
export const SLOW_DRIP_INTERVAL_MS = 5_000
