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
  "hang"
)

/** @internal */
export type Fault = typeof Fault.Type

/** @internal */
export const FAULTS: ReadonlyArray<Fault> = Fault.literals

/** @internal */
export const isFault = (name: string): name is Fault => (FAULTS as ReadonlyArray<string>).includes(name)
