/**
 * Model status for people (SPEC §6): each model is **normal**, **delayed**
 * (latency above twice its own baseline) or **unavailable** (breaker open, or
 * failing repeatedly), judged from the client's own traffic — the vendor's
 * status page often says "all normal" during an outage (SPEC §1).
 *
 * @since 0.1.0
 */
import { Context, type Effect, type Stream } from "effect"
import type * as CircuitBreaker from "./CircuitBreaker.js"

/**
 * How a model is doing.
 *
 * @since 0.1.0
 */
export type Health = "normal" | "delayed" | "unavailable"

/**
 * One outcome of real traffic (or of a health probe) for one model.
 *
 * @since 0.1.0
 */
export interface Observation {
  readonly model: string
  readonly outcome: "success" | "failure"
  /** How long the call took (ms); for failures, until the failure. */
  readonly latencyMs: number
  /** Failure category/reason (`"hard"`/`"Overloaded"`), for failures. */
  readonly category?: "hard" | "soft" | "silent" | undefined
  readonly reason?: string | undefined
  /** True for a health probe rather than user traffic. */
  readonly probe?: boolean | undefined
  /** Price of the call (probes count their cost). */
  readonly cost?: number | undefined
}

/**
 * What the status knows about one model now.
 *
 * @since 0.1.0
 */
export interface ModelHealth {
  readonly model: string
  readonly vendor: string
  /** Position in its priority list (0 = primary). */
  readonly rank: number
  readonly health: Health
  /** Why (`"breaker open"`, `"4 consecutive failures"`, `"median 84 s > 2 × baseline 30 s"`, `"ok"`). */
  readonly reason: string
  /** Epoch ms of the last change of `health`. */
  readonly since: number
  /** Rolling median latency of healthy calls (ms); undefined until there are some. */
  readonly baselineMs: number | undefined
  /** Median latency of the recent calls (ms); undefined until there are some. */
  readonly recentMs: number | undefined
  readonly breaker: CircuitBreaker.State
  /** Share (0–1) of the recent successful requests of its list that this model served. */
  readonly trafficShare: number
  /** True when it is serving because a model ranked above it is unavailable. */
  readonly servingAsFallback: boolean
  /** While traffic is moved back after a recovery: the share (0–1) of requests let through. */
  readonly ramp: number | undefined
  /** Health probes sent while unavailable, and what they cost. */
  readonly probes: { readonly count: number; readonly cost: number }
}

/**
 * The whole picture.
 *
 * @since 0.1.0
 */
export interface StatusSnapshot {
  /** Epoch ms. */
  readonly at: number
  readonly models: ReadonlyArray<ModelHealth>
  /** Vendors all of whose models are unavailable at once (SPEC §7: a vendor-wide outage). */
  readonly vendorOutages: ReadonlyArray<{ readonly vendor: string; readonly since: number; readonly models: ReadonlyArray<string> }>
  /** Fallbacks promoted to primary after a long outage (SPEC §7: ~2 h without recovery). */
  readonly promotions: ReadonlyArray<{ readonly from: string; readonly to: string; readonly since: number }>
  /** Sentences for people: "gemini-2.5-flash-image is serving in place of gemini-3-pro-image-preview". */
  readonly notes: ReadonlyArray<string>
}

/**
 * A model changed health.
 *
 * @since 0.1.0
 */
export interface StatusChange {
  readonly model: string
  readonly from: Health
  readonly to: Health
  /** Epoch ms. */
  readonly at: number
  readonly reason: string
}

/**
 * The status service.
 *
 * @since 0.1.0
 */
export interface ModelStatusService {
  /** Record one outcome of traffic or of a probe. */
  readonly record: (observation: Observation) => Effect.Effect<void>
  /** The picture now (breaker states read without calling through them). */
  readonly snapshot: Effect.Effect<StatusSnapshot>
  /** Every change of a model's health, from the moment the stream is run. */
  readonly changes: Stream.Stream<StatusChange>
  /** A new snapshot on every change (health, breaker, vendor outage, promotion), for push updates. */
  readonly snapshots: Stream.Stream<StatusSnapshot>
}

/**
 * The status in scope.
 *
 * @since 0.1.0
 */
export class ModelStatus extends Context.Tag("effect-ai-resilience/ModelStatus")<ModelStatus, ModelStatusService>() {}
