/**
 * Model status for people (SPEC §6): each model is **normal**, **delayed**
 * (latency above twice its own baseline) or **unavailable** (breaker open, or
 * failing repeatedly), judged from the client's own traffic — the vendor's
 * status page often says "all normal" during an outage (SPEC §1).
 *
 * @since 0.1.0
 */
import { Clock, Context, Duration, Effect, Layer, PubSub, Ref, type Scope, Stream } from "effect"
import * as CircuitBreaker from "./CircuitBreaker.js"
import * as State from "./internal/modelStatus/state.js"

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
  /** Epoch ms at which it last came back from unavailable (the failback ramp starts there). */
  readonly recoveredAt: number | undefined
  /** Rolling median latency of healthy calls (ms); undefined until there are some. */
  readonly baselineMs: number | undefined
  /** Median latency of the recent calls (ms); undefined until there are some. */
  readonly recentMs: number | undefined
  readonly breaker: CircuitBreaker.State
  /** Share (0–1) of the recent successful requests of its list that this model served. */
  readonly trafficShare: number
  /** True when it is serving because a model ranked above it is unavailable. */
  readonly servingAsFallback: boolean
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
  /**
   * The effective priority list of `list`: as configured, or with the promoted
   * fallback first while a promotion holds (SPEC §7).
   */
  readonly order: (list: string) => Effect.Effect<ReadonlyArray<string>>
}

/**
 * The status in scope.
 *
 * @since 0.1.0
 */
export class ModelStatus extends Context.Tag("effect-ai-resilience/ModelStatus")<ModelStatus, ModelStatusService>() {}

/**
 * Options of {@link make}.
 *
 * | option | default | source |
 * |---|---|---|
 * | `delayedFactor` | 2 | SPEC §6 (delayed: latency > 2× normal) |
 * | `baselineSamples` | 50 healthy calls (rolling median) | issue #4 §1 |
 * | `minBaselineSamples` | 5 | no verdict on too little data |
 * | `recentSamples` | 5 calls (median) | |
 * | `unavailableAfter` | 3 consecutive failures | SPEC §6 (503s or consecutive failures) |
 * | `shareWindow` | 100 served requests per list | |
 * | `promoteAfter` | 2 h | SPEC §7 (promote the fallback after ~2 h without recovery) |
 *
 * @since 0.1.0
 */
export interface ModelStatusOptions {
  /** The priority lists (primary first), e.g. `{ image: [{ model, vendor }, …] }`. */
  readonly lists: Readonly<Record<string, ReadonlyArray<{ readonly model: string; readonly vendor?: string }>>>
  readonly delayedFactor?: number
  readonly baselineSamples?: number
  readonly minBaselineSamples?: number
  readonly recentSamples?: number
  readonly unavailableAfter?: number
  readonly shareWindow?: number
  readonly promoteAfter?: Duration.DurationInput
  /** Alert hook: runs on every change of a model's health. Its failures and defects are logged, never propagated. */
  readonly onChange?: (change: StatusChange) => Effect.Effect<void, unknown>
}

/**
 * Make the status of the models of `options.lists`, judged from the
 * observations it is given and from the breakers' states (read without
 * calling through them; breaker transitions update it at once).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { CircuitBreaker, ModelStatus } from "effect-ai-resilience"
 *
 * const program = Effect.gen(function*() {
 *   const status = yield* ModelStatus.make({
 *     lists: { image: [{ model: "gemini-3-pro-image-preview", vendor: "google" }, { model: "seedream-4.5", vendor: "bytedance" }] },
 *     onChange: (c) => Effect.logWarning(`${c.model}: ${c.from} → ${c.to} (${c.reason})`)
 *   })
 *   yield* status.record({ model: "seedream-4.5", outcome: "success", latencyMs: 14_000 })
 *   return yield* status.snapshot
 * }).pipe(Effect.provide(CircuitBreaker.layer()), Effect.scoped)
 * ```
 *
 * @since 0.1.0
 */
export const make = (
  options: ModelStatusOptions
): Effect.Effect<ModelStatusService, never, CircuitBreaker.CircuitBreakers | Scope.Scope> =>
  Effect.gen(function*() {
    const breakers = yield* CircuitBreaker.CircuitBreakers
    const settings = State.settings(options)
    const now0 = yield* Clock.currentTimeMillis
    const ref = yield* Ref.make(State.initial(settings, now0))
    const changesHub = yield* PubSub.unbounded<StatusChange>()
    const snapshotsHub = yield* PubSub.sliding<StatusSnapshot>(64)
    const lock = yield* Effect.makeSemaphore(1)

    const breakerStates = Effect.forEach(settings.models, (m) =>
      Effect.flatMap(breakers.get(m.model), (b) => Effect.map(b.state, (state) => [m.model, state] as const))
    ).pipe(Effect.map((pairs) => new Map(pairs)))

    const hook = (change: StatusChange) =>
      options.onChange === undefined ? Effect.void : options.onChange(change).pipe(
        Effect.catchAllCause((cause) => Effect.logWarning("ModelStatus: the onChange hook failed", cause))
      )

    /** Apply `update` and re-evaluate, publishing what changed (serialised: no lost updates). */
    const step = (update: (state: State.State) => State.State) =>
      lock.withPermits(1)(Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        const states = yield* breakerStates
        const before = yield* Ref.get(ref)
        const { state, changes, changed } = State.evaluate(settings, update(before), states, now)
        yield* Ref.set(ref, state)
        if (changes.length > 0 || changed) {
          yield* PubSub.publishAll(changesHub, changes)
          yield* PubSub.publish(snapshotsHub, State.snapshot(settings, state, states, now))
        }
        return changes
      })).pipe(Effect.flatMap((changes) => Effect.forEach(changes, hook, { discard: true })))

    // breaker transitions change health without any observation
    yield* Stream.runForEach(breakers.changes, () => step((s) => s)).pipe(Effect.forkScoped)
    yield* Effect.yieldNow()

    const snapshot = Effect.gen(function*() {
      // time alone can start a promotion: evaluate before answering
      yield* step((s) => s)
      const now = yield* Clock.currentTimeMillis
      return State.snapshot(settings, yield* Ref.get(ref), yield* breakerStates, now)
    })

    return {
      record: (observation) => Effect.asVoid(step((s) => State.record(settings, s, observation))),
      snapshot,
      changes: Stream.fromPubSub(changesHub),
      snapshots: Stream.fromPubSub(snapshotsHub),
      order: (list) => Effect.zipRight(step((s) => s), Effect.map(Ref.get(ref), (s) => State.order(settings, s, list)))
    }
  })

/**
 * The status as a layer.
 *
 * @since 0.1.0
 */
export const layer = (options: ModelStatusOptions): Layer.Layer<ModelStatus, never, CircuitBreaker.CircuitBreakers> =>
  Layer.scoped(ModelStatus, make(options))
