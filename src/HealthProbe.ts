/**
 * Health probes and failback: while a model is unavailable,
 * send it a cheap configured request at a limited rate (each probe's cost is
 * counted); when it recovers, move traffic back gradually — a ramp that lets
 * a growing share of requests through — instead of all at once.
 *
 * Probes go through the model's circuit breaker (`withBreaker`): while it is
 * open no probe is sent (the breaker would refuse it, and the open time is
 * the breaker's own back-off); once the open time is over the breaker reports
 * half-open and the next probe is its trial call, so a successful probe
 * closes it (traffic need not risk a user request on it) and a failed one
 * re-opens it. A model whose breaker never opened (unavailable by consecutive
 * failures) is probed through the closed breaker, whose counts then see the
 * probe too. Outcomes are recorded in {@link ModelStatus} as probes (not
 * traffic, with their cost: a hard failure is not billed) and counted in
 * `Observability`.
 *
 * A probe may have its own, longer interval — a video probe submits a real
 * job and costs as much. While such a probe is refused (a hard failure, which
 * is not billed), it is repeated at the general `interval` instead: refusals
 * cost nothing, and the model's status needs several failures in a row
 * before it says "unavailable".
 *
 * @since 0.1.0
 */
import { Clock, Duration, Effect, Either, Random, Ref, type Scope } from "effect"
import * as CircuitBreaker from "./CircuitBreaker.js"
import { category, type GenerationFailure } from "./Failure.js"
import { ModelStatus } from "./ModelStatus.js"
import * as Observability from "./Observability.js"

/**
 * The probe of one model.
 *
 * @since 0.1.0
 */
export interface Probe {
  readonly model: string
  /** A cheap request to the model (a short text, a small image). */
  readonly run: Effect.Effect<unknown, GenerationFailure>
  /** What one probe costs, for the cost report. */
  readonly cost?: number | undefined
  /** Its own interval (default: the options' `interval`); see the module's notes on refused probes. */
  readonly interval?: Duration.DurationInput | undefined
}

/**
 * Options of {@link make}.
 *
 * | option | default | source |
 * |---|---|---|
 * | `interval` | 60 s per model (the first probe one interval after the start) | notices a recovery within about a minute while probing at a limited rate |
 * | `always` | `false`: probe only unavailable models | set it for a page with no traffic (the `status` command) |
 * | `immediate` | `false`: the first probe one interval after the start | set it for a page with no traffic, so that it has a verdict at once |
 *
 * The failback ramp's shares and step are {@link ModelStatus} options
 * (`ramp`), since the status shows them (`ModelHealth.ramp`).
 *
 * @since 0.1.0
 */
export interface HealthProbeOptions {
  readonly probes: ReadonlyArray<Probe>
  readonly interval?: Duration.DurationInput | undefined
  readonly always?: boolean | undefined
  readonly immediate?: boolean | undefined
}

/**
 * Probing and the failback ramp.
 *
 * @since 0.1.0
 */
export interface HealthProbe {
  /**
   * Whether `model` takes this request: always, except while it ramps up
   * after a recovery, when a growing share of requests is let through (drawn
   * from Effect's `Random`, so a seeded `Random` makes it reproducible). Give
   * it to `FallbackChain`'s `admit`.
   */
  readonly admit: (model: string) => Effect.Effect<boolean>
  /** The share (0–1) let through now, or `undefined` when not ramping (as `ModelHealth.ramp`). */
  readonly ramp: (model: string) => Effect.Effect<number | undefined>
  /** Probes sent so far per model, and what they cost. */
  readonly sent: Effect.Effect<ReadonlyMap<string, { readonly count: number; readonly cost: number }>>
}

/**
 * Start probing (for as long as the scope lasts) and follow recoveries for
 * the ramp.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { HealthProbe, Provider, TextGeneration } from "effect-ai-resilience"
 *
 * const program = Effect.gen(function*() {
 *   const provider = yield* Provider.Provider
 *   const ping = TextGeneration.TextRequest.make({
 *     model: "gpt-4.1-mini",
 *     messages: [TextGeneration.Message.make({ role: "user", content: "ping" })],
 *     maxTokens: 1
 *   })
 *   return yield* HealthProbe.make({ probes: [{ model: "gpt-4.1-mini", run: provider.generateText(ping), cost: 0.0001 }] })
 * })
 * ```
 *
 * @since 0.1.0
 */
export const make = (
  options: HealthProbeOptions
): Effect.Effect<HealthProbe, never, ModelStatus | CircuitBreaker.CircuitBreakers | Scope.Scope> =>
  Effect.gen(function*() {
    const status = yield* ModelStatus
    const breakers = yield* CircuitBreaker.CircuitBreakers
    const interval = Duration.decode(options.interval ?? Duration.seconds(60))
    const sent = yield* Ref.make<ReadonlyMap<string, { readonly count: number; readonly cost: number }>>(new Map())

    /** One probe, if one is due; true when it was refused (a hard failure: not billed). */
    const probeOnce = (probe: Probe) =>
      Effect.gen(function*() {
        const breaker = yield* breakers.get(probe.model)
        const state = yield* breaker.state
        if (state === "open") return false // not before its open time: the breaker would refuse it
        const snapshot = yield* status.snapshot
        const health = snapshot.models.find((m) => m.model === probe.model)?.health
        // half-open: the breaker waits for a trial call — the probe is one
        if (options.always !== true && health !== "unavailable" && state !== "half-open") return false
        const t0 = yield* Clock.currentTimeMillis
        // a defect is a bug, not a verdict on the model: it is logged below, not recorded
        const result = yield* Effect.either(breaker.withBreaker(probe.run))
        const durationMs = (yield* Clock.currentTimeMillis) - t0
        if (Either.isLeft(result) && result.left._tag === "CircuitOpen") return false // another trial call is in flight
        const failure = Either.isLeft(result) && result.left._tag !== "CircuitOpen" ? result.left : undefined
        const outcome = failure === undefined ? "success" as const : "failure" as const
        // a request that did not complete (a hard failure: 503, timeout, …) is not billed;
        // one that was answered (a success, or a soft/silent failure) is
        const cost = failure !== undefined && category(failure) === "hard" ? 0 : probe.cost ?? 0
        yield* Ref.update(sent, (m) => {
          const previous = m.get(probe.model) ?? { count: 0, cost: 0 }
          return new Map([...m, [probe.model, { count: previous.count + 1, cost: previous.cost + cost }]])
        })
        yield* status.record({
          model: probe.model,
          outcome,
          latencyMs: durationMs,
          probe: true,
          cost,
          ...(failure === undefined ? {} : { category: category(failure), reason: failure.reason })
        })
        yield* Observability.recordProbe({
          model: probe.model,
          outcome,
          durationMs,
          cost,
          ...(failure === undefined ? {} : { reason: failure.reason })
        })
        return failure !== undefined && category(failure) === "hard"
      })

    for (const probe of options.probes) {
      const own = probe.interval === undefined ? interval : Duration.decode(probe.interval)
      const afterRefusal = Duration.min(own, interval)
      yield* Effect.iterate(options.immediate === true ? Duration.zero : own, {
        while: () => true,
        body: (delay) =>
          Effect.zipRight(
            Effect.sleep(delay),
            probeOnce(probe).pipe(
              Effect.catchAllCause((cause) => Effect.as(Effect.logWarning(`health probe of ${probe.model} failed unexpectedly`, cause), false)),
              Effect.map((refused) => (refused ? afterRefusal : own))
            )
          )
      }).pipe(Effect.forkScoped)
    }

    return {
      ramp: status.ramp,
      admit: (model) =>
        Effect.flatMap(status.ramp(model), (share) => share === undefined || share >= 1 ? Effect.succeed(true) : Effect.map(Random.next, (u) => u < share)),
      sent: Ref.get(sent)
    }
  })
