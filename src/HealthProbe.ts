/**
 * Health probes and failback (SPEC §5, §7): while a model is unavailable,
 * send it a cheap configured request at a limited rate (each probe's cost is
 * counted); when it recovers, move traffic back gradually — a ramp that lets
 * a growing share of requests through — instead of all at once.
 *
 * Probes go through the model's circuit breaker, so a successful probe after
 * the open time closes it (and a probe is never sent while the breaker is
 * still open). Their outcomes are recorded in {@link ModelStatus} as probes
 * (not traffic) and counted in `Observability`.
 *
 * @since 0.1.0
 */
import { Clock, Duration, Effect, Random, Ref, Schedule, type Scope } from "effect"
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
  readonly cost?: number
}

/**
 * Options of {@link make}.
 *
 * | option | default | source |
 * |---|---|---|
 * | `interval` | 60 s per model | SPEC §7 (watch for recovery at a limited rate) |
 * | `always` | `false`: probe only unavailable models | set it for a page with no traffic (the `status` command) |
 * | `ramp` | 10 % → 25 % → 50 % → 100 %, a step a minute | SPEC §5 ("test with a little traffic before moving all of it back") |
 *
 * @since 0.1.0
 */
export interface HealthProbeOptions {
  readonly probes: ReadonlyArray<Probe>
  readonly interval?: Duration.DurationInput
  readonly always?: boolean
  readonly ramp?: { readonly shares?: ReadonlyArray<number>; readonly step?: Duration.DurationInput }
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
   * from Effect's `Random`). Give it to `FallbackChain`'s `admit`.
   */
  readonly admit: (model: string) => Effect.Effect<boolean>
  /** The share (0–1) let through now, or `undefined` when not ramping. */
  readonly ramp: (model: string) => Effect.Effect<number | undefined>
  /** Probes sent so far per model, and what they cost. */
  readonly sent: Effect.Effect<ReadonlyMap<string, { readonly count: number; readonly cost: number }>>
}

const DEFAULT_SHARES: ReadonlyArray<number> = [0.1, 0.25, 0.5, 1]

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
    const shares = (options.ramp?.shares ?? DEFAULT_SHARES).filter((s) => Number.isFinite(s) && s > 0 && s <= 1)
    const step = Duration.toMillis(Duration.decode(options.ramp?.step ?? Duration.minutes(1)))
    const sent = yield* Ref.make<ReadonlyMap<string, { readonly count: number; readonly cost: number }>>(new Map())

    const probeOnce = (probe: Probe) =>
      Effect.gen(function*() {
        const breaker = yield* breakers.get(probe.model)
        const state = yield* breaker.state
        if (state === "open") return // not before its open time: the breaker would refuse it
        const snapshot = yield* status.snapshot
        const health = snapshot.models.find((m) => m.model === probe.model)?.health
        // half-open: the breaker waits for a trial call — the probe is one
        if (options.always !== true && health !== "unavailable" && state !== "half-open") return
        const t0 = yield* Clock.currentTimeMillis
        const exit = yield* Effect.exit(breaker.withBreaker(probe.run))
        const durationMs = (yield* Clock.currentTimeMillis) - t0
        if (exit._tag === "Failure" && exit.cause._tag === "Fail" && exit.cause.error instanceof CircuitBreaker.CircuitOpen) return
        const failure = exit._tag === "Failure" && exit.cause._tag === "Fail" ? exit.cause.error as GenerationFailure : undefined
        const cost = exit._tag === "Success" ? probe.cost ?? 0 : 0
        yield* Ref.update(sent, (m) => {
          const previous = m.get(probe.model) ?? { count: 0, cost: 0 }
          return new Map([...m, [probe.model, { count: previous.count + 1, cost: previous.cost + cost }]])
        })
        yield* status.record({
          model: probe.model,
          outcome: exit._tag === "Success" ? "success" : "failure",
          latencyMs: durationMs,
          probe: true,
          cost,
          ...(failure === undefined ? {} : { category: category(failure), reason: failure.reason })
        })
        yield* Observability.recordProbe({
          model: probe.model,
          outcome: exit._tag === "Success" ? "success" : "failure",
          durationMs,
          cost,
          ...(failure === undefined ? {} : { reason: failure.reason })
        })
      })

    for (const probe of options.probes) {
      yield* probeOnce(probe).pipe(
        Effect.catchAllCause((cause) => Effect.logWarning(`health probe of ${probe.model} failed unexpectedly`, cause)),
        Effect.repeat(Schedule.spaced(interval)),
        Effect.delay(interval),
        Effect.forkScoped
      )
    }

    const ramp = (model: string) =>
      Effect.gen(function*() {
        // a model coming back from unavailable ramps up from the moment it recovered
        const since = (yield* status.snapshot).models.find((m) => m.model === model)?.recoveredAt
        if (since === undefined || shares.length === 0) return undefined
        const k = Math.floor(((yield* Clock.currentTimeMillis) - since) / step)
        return k >= shares.length ? undefined : shares[k]
      })

    return {
      ramp,
      admit: (model) =>
        Effect.flatMap(ramp(model), (share) => share === undefined || share >= 1 ? Effect.succeed(true) : Effect.map(Random.next, (u) => u < share)),
      sent: Ref.get(sent)
    }
  })
