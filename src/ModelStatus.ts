/**
 * Model status for people: each model is **normal**, **delayed**
 * (latency above twice its own baseline) or **unavailable** (breaker open, or
 * failing repeatedly), judged from the client's own traffic — the vendor's
 * status page often says "all normal" during an outage.
 *
 * @since 0.1.0
 */
import { Clock, Context, Duration, Effect, Layer, PubSub, Queue, Random, Ref, type Scope, Stream } from "effect"
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
  /**
   * The failback ramp: the share (0–1) of its requests it is given while it
   * comes back after being unavailable (see {@link ModelStatusOptions} `ramp`);
   * `undefined` when it is not ramping (it takes all of them).
   */
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
  /** Vendors all of whose models are unavailable at once (a vendor-wide outage). */
  readonly vendorOutages: ReadonlyArray<{ readonly vendor: string; readonly since: number; readonly models: ReadonlyArray<string> }>
  /** Fallbacks promoted to primary after a long outage (after `promoteAfter`, 2 h, without recovery). */
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
  /**
   * Subscribe to every change of a model's health. The subscription is made
   * when this effect runs (a change published after that is not missed, even
   * before the stream is run) and lasts as long as the scope; run the stream
   * once.
   */
  readonly changes: Effect.Effect<Stream.Stream<StatusChange>, never, Scope.Scope>
  /**
   * Subscribe to a new snapshot on every change (health, breaker, vendor
   * outage, promotion), for push updates; subscribed when this effect runs, as
   * `changes`. Only the latest 64 are kept for a subscriber that falls behind.
   */
  readonly snapshots: Effect.Effect<Stream.Stream<StatusSnapshot>, never, Scope.Scope>
  /**
   * The effective priority list of `list`: as configured, or with the promoted
   * fallback first while a promotion holds — except for a small
   * share of calls (`promotionTrial`, drawn from Effect's `Random`) that still
   * try the primary first, so that it can show it has recovered even when
   * nothing probes it (the promotion ends once it is normal again).
   */
  readonly order: (list: string) => Effect.Effect<ReadonlyArray<string>>
  /**
   * The failback ramp's share (0–1) for `model` now, or `undefined` when it is
   * not ramping. Cheap (no re-evaluation): fit for every request.
   */
  readonly ramp: (model: string) => Effect.Effect<number | undefined>
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
 * | `delayedFactor` | 2 | delayed means over twice the model's normal latency |
 * | `baselineSamples` | 50 healthy calls (rolling median) | the normal latency is the rolling median of its own healthy calls, so one slow call does not move it |
 * | `minBaselineSamples` | 5 | no verdict on too little data |
 * | `recentSamples` | 5 successful calls (median; a verdict needs at least 3 of them) | a median of 5 rides out one slow call |
 * | `unavailableAfter` | 3 consecutive failures | failures in a row mark a model before its breaker has a sample |
 * | `shareWindow` | the last 100 served requests of each list | |
 * | `isFailure` | a `hard` failure that `countsAgainstModel` (reason `Overloaded`, `ServerError`, `Timeout`, `Network` or `RateLimited`), or one of unknown kind | what the breaker counts |
 * | `promoteAfter` | 2 h | a reported outage lasts 30–120 min: after 2 h without recovery the fallback leads |
 * | `promotionTrial` | 5 % of calls still try the primary first while a promotion holds | watch for recovery at a limited rate: without it, a primary nobody probes could never end its promotion |
 * | `ramp` | 10 % → 25 % → 50 % → 100 %, a step a minute | a recovered model is tried with a little traffic before all of it moves back |
 *
 * A model is **unavailable** while its breaker is open or half-open (a
 * trial call has yet to close it), or after `unavailableAfter` failures in a
 * row (only failures that `isFailure` counts: a 400 or a filtered prompt says
 * nothing about the model's health, so it neither counts nor resets the run);
 * **delayed** when the median of its recent successful calls exceeds
 * `delayedFactor` × its baseline, the median of its last healthy calls (slow
 * calls never enter the baseline, so a slow spell cannot raise its own bar);
 * **normal** otherwise. When it leaves unavailable, its ramp starts.
 *
 * @since 0.1.0
 */
export interface ModelStatusOptions {
  /**
   * The priority lists (primary first), e.g. `{ image: [{ model, vendor }, …] }`.
   * A model's rank is its position in the first list that names it; `vendor`
   * (default `"unknown"`) groups models for vendor-wide outages, which need at
   * least two models of the vendor.
   */
  readonly lists: Readonly<Record<string, ReadonlyArray<{ readonly model: string; readonly vendor?: string | undefined }>>>
  readonly delayedFactor?: number | undefined
  readonly baselineSamples?: number | undefined
  readonly minBaselineSamples?: number | undefined
  readonly recentSamples?: number | undefined
  readonly unavailableAfter?: number | undefined
  readonly shareWindow?: number | undefined
  /** Does this failed observation count against the model's health (towards `unavailableAfter`)? */
  readonly isFailure?: ((observation: Observation) => boolean) | undefined
  /** A primary unavailable this long has its best available fallback promoted until it is normal again. */
  readonly promoteAfter?: Duration.DurationInput | undefined
  /** While a promotion holds, the share of calls (0–1) that still try the primary first. */
  readonly promotionTrial?: number | undefined
  /**
   * The failback ramp: after a recovery, the share of requests let through in
   * each `step` (shares in (0, 1]; after the last step, all of them).
   */
  readonly ramp?: { readonly shares?: ReadonlyArray<number> | undefined; readonly step?: Duration.DurationInput | undefined } | undefined
  /**
   * Alert hook: runs on every change of a model's health, in order, on a
   * fiber of its own (a slow pager never holds up `record`). Its failures and
   * defects are logged, never propagated.
   */
  readonly onChange?: ((change: StatusChange) => Effect.Effect<void, unknown>) | undefined
}

/**
 * Make the status of the models of `options.lists`, judged from the
 * observations it is given and from the breakers' states (read without
 * calling through them; breaker transitions update it at once). Ramp steps
 * and promotions that fall due with time alone publish a snapshot too. The
 * background fibers live as long as the scope.
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
    const trial = options.promotionTrial !== undefined && Number.isFinite(options.promotionTrial)
      ? Math.min(1, Math.max(0, options.promotionTrial))
      : 0.05
    const now0 = yield* Clock.currentTimeMillis
    // changed in place, each change one synchronous step (see State.State)
    const state = State.initial(settings, now0)
    const changesHub = yield* PubSub.unbounded<StatusChange>()
    const snapshotsHub = yield* PubSub.sliding<StatusSnapshot>(64)
    const alerts = yield* Queue.unbounded<StatusChange>()
    const lock = yield* Effect.makeSemaphore(1)
    // the time-driven deadline armed now, and a nudge for the timer when it moves
    const armed = yield* Ref.make<number | undefined>(undefined)
    const rearm = yield* Queue.sliding<void>(1)
    const models = yield* Effect.forEach(settings.models, (m) => breakers.get(m.model))

    // read on every record (a breaker's move to half-open shows only when read):
    // one flatMap a breaker, into an array in the order of settings.models
    const breakerStates: Effect.Effect<State.Breakers> = Effect.suspend(() => {
      const out = new Array<CircuitBreaker.State>(models.length)
      const from = (i: number): Effect.Effect<State.Breakers> =>
        i === models.length ? Effect.succeed(out) : Effect.flatMap(models[i]!.state, (s) => {
          out[i] = s
          return from(i + 1)
        })
      return from(0)
    })

    /**
     * Apply `update` (at once, in place) and settle. A step that changes
     * nothing anyone sees (most observations) ends there, having judged only
     * the observed model; one that does is evaluated again under the lock,
     * which it keeps until it has published what changed (so pushes come in
     * order), and is not interrupted once it holds it.
     */
    const step = (update: (state: State.State) => string | undefined, publish = false): Effect.Effect<void> =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Effect.flatMap(breakerStates, (states) =>
          Effect.flatMap(Ref.get(armed), (deadline) => {
            const model = update(state)
            return publish || State.settle(settings, state, model, states, deadline, now) === "loud" ? loud(publish) : Effect.void
          })))
    const loud = (publish: boolean) =>
      lock.withPermits(1)(Effect.uninterruptible(Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        const states = yield* breakerStates
        const evaluated = State.evaluate(settings, state, states, now)
        State.commit(state, evaluated)
        const { changed, changes } = evaluated
        if (changes.length > 0 || changed || publish) {
          yield* PubSub.publishAll(changesHub, changes)
          if (options.onChange !== undefined) yield* Queue.offerAll(alerts, changes)
          yield* PubSub.publish(snapshotsHub, State.snapshot(settings, state, states, now))
        }
        const deadline = State.nextDeadline(settings, state, now)
        if (deadline !== (yield* Ref.getAndSet(armed, deadline))) yield* Queue.offer(rearm, undefined)
      })))
    const unchanged = () => undefined

    // breaker transitions change health without any observation (subscribed
    // here, before anything can trip a breaker)
    yield* Stream.runForEach(yield* breakers.changes, () => step(unchanged)).pipe(Effect.forkScoped)
    // the alert hook, in order, off the recording path
    if (options.onChange !== undefined) {
      const onChange = options.onChange
      yield* Queue.take(alerts).pipe(
        Effect.flatMap((change) =>
          Effect.catchAllCause(
            Effect.suspend(() => onChange(change)),
            (cause) => Effect.logWarning(`ModelStatus: the onChange hook failed for ${change.model} ${change.from} → ${change.to}`, cause)
          )
        ),
        Effect.forever,
        Effect.forkScoped
      )
    }
    // time alone moves a ramp a step on, or makes a promotion due: wake then and publish
    yield* Effect.gen(function*() {
      const deadline = yield* Ref.get(armed)
      if (deadline === undefined) return yield* Queue.take(rearm)
      const wait = deadline - (yield* Clock.currentTimeMillis)
      const due = yield* Effect.raceFirst(Effect.as(Queue.take(rearm), false), Effect.as(Effect.sleep(Math.max(0, wait)), true))
      if (due) yield* step(unchanged, true)
    }).pipe(Effect.forever, Effect.forkScoped)
    yield* Effect.yieldNow()

    const snapshot = Effect.gen(function*() {
      // time alone can start a promotion: evaluate before answering
      yield* step(unchanged)
      const now = yield* Clock.currentTimeMillis
      const states = yield* breakerStates
      return State.snapshot(settings, state, states, now)
    })

    return {
      record: (observation) => step((s) => State.record(settings, s, observation)),
      snapshot,
      changes: Stream.fromPubSub(changesHub, { scoped: true }),
      snapshots: Stream.fromPubSub(snapshotsHub, { scoped: true }),
      // read-only and cheap (it runs on every request): the state is current
      // until the armed deadline (time alone changes nothing before it); past
      // it, judged as of now without taking the lock
      order: (list) =>
        Effect.flatMap(Clock.currentTimeMillis, (now) =>
          Effect.flatMap(Ref.get(armed), (deadline) =>
            Effect.flatMap(
              deadline === undefined || now < deadline
                ? Effect.sync(() => state.promotions)
                : Effect.map(breakerStates, (states) => State.evaluate(settings, state, states, now).promotions),
              (promotions) => {
                const promoted = State.order(settings, promotions, list)
                const configured = settings.lists[list] ?? []
                if (promoted === configured || trial <= 0) return Effect.succeed(promoted)
                return Effect.map(Random.next, (u) => (u < trial ? configured : promoted))
              }
            ))),
      ramp: (model) => Effect.map(Clock.currentTimeMillis, (now) => State.rampOf(settings, state, model, now))
    }
  })

/**
 * The status as a layer.
 *
 * @since 0.1.0
 */
export const layer = (options: ModelStatusOptions): Layer.Layer<ModelStatus, never, CircuitBreaker.CircuitBreakers> =>
  Layer.scoped(ModelStatus, make(options))
