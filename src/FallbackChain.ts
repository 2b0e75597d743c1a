/**
 * Multi-model failover (never depend on one model): a priority list of models, tried in order by
 * folding `Effect.catchIf` (an `orElse` that only catches what a fallback
 * should catch). Each model is tried at most once per call — with its own
 * retries (`RetryPolicy`) behind its own circuit breaker (`CircuitBreakers`) —
 * and a model whose breaker is open is skipped without a call.
 *
 * Only fallback-eligible failures move on (`isFallbackEligible`: overload,
 * server errors, time-outs, network, rate limits, quota, unknown model,
 * context length, an open circuit). `BadRequest` and `Unauthorized` surface at
 * once; `ContentFiltered` moves on only with `contentFiltered: true`.
 *
 * The result says which model served and carries the attempt log; when every
 * model fails, one `AllModelsFailed` holds every attempt and says when to come
 * back (`retryAfter`).
 *
 * @since 0.1.0
 */
import { Clock, Data, Duration, Effect, Schema } from "effect"
import * as CircuitBreaker from "./CircuitBreaker.js"
import { category, type GenerationFailure, HardFailure, isFallbackEligible, isGenerationFailure } from "./Failure.js"
import { timeoutFail } from "./internal/timeout.js"
import * as Observability from "./Observability.js"
import * as RetryPolicy from "./RetryPolicy.js"

/**
 * One entry of the priority list.
 *
 * @since 0.1.0
 */
export interface ChainModel<Call> {
  /** The model id sent to the provider. */
  readonly model: string
  /** What to call for this model (usually a bound provider operation). */
  readonly call: Call
  /** Price of one successful call (e.g. per image), for the cost report. Failures cost nothing (a 503 is not billed). */
  readonly price?: (number | ((value: ValueOf<Call>) => number)) | undefined
  /**
   * Admission of each attempt (e.g. `LoadControl.run`: a rate limit and a
   * concurrency bulkhead). It wraps the attempt from outside its breaker and
   * its time-out: time spent waiting here is neither part of the attempt's
   * time-out nor a failure of the model.
   */
  readonly gate?: (<X, E2, R2>(attempt: Effect.Effect<X, E2, R2>) => Effect.Effect<X, E2, R2>) | undefined
}

/** What a call produces. @since 0.1.0 */
export type ValueOf<Call> = Call extends (...args: ReadonlyArray<never>) => Effect.Effect<infer A, infer _E, infer _R> ? A : never

/**
 * One line of the attempt log.
 *
 * @since 0.1.0
 */
export class AttemptRecord extends Schema.Class<AttemptRecord>("effect-ai-resilience/AttemptRecord")({
  model: Schema.String,
  /** 1-based attempt number within this model (retries increase it). */
  attempt: Schema.Number,
  outcome: Schema.Literal("success", "failure", "skipped"),
  category: Schema.optional(Schema.Literal("hard", "soft", "silent")),
  /** Failure reason, or `"CircuitOpen"` for a skipped model, or `"Deadline"`. */
  reason: Schema.optional(Schema.String),
  status: Schema.optional(Schema.Number),
  message: Schema.optional(Schema.String),
  /**
   * The provider's request id of this attempt, to quote to its support: from
   * the failure, or from the result when it carries one (the ids of a request
   * split into several calls, comma-separated).
   */
  requestId: Schema.optional(Schema.String),
  durationMs: Schema.Number,
  /** Set on successes of priced models. */
  cost: Schema.optional(Schema.Number)
}) {}

/**
 * A result and how it was obtained.
 *
 * @since 0.1.0
 */
export interface Served<A> {
  readonly value: A
  /** The model that served. */
  readonly model: string
  /** Position of that model in the priority list (0 = the primary). */
  readonly rank: number
  /** True when a model other than the primary served. */
  readonly fellBack: boolean
  /**
   * True when no model served and the value is the caller's stand-in (see
   * {@link orDegrade}); `model` is then `"degraded"` and `rank` is -1.
   */
  readonly degraded: boolean
  readonly attempts: ReadonlyArray<AttemptRecord>
  /** Sum of the priced successes (0 when nothing is priced). */
  readonly cost: number
}

/**
 * Every model failed (or was skipped, or the deadline left no time).
 *
 * `retryAfter` says when it is worth coming back, measured from the moment
 * the chain gave up: the earliest of the times at which the breaker of a
 * model skipped for an open circuit may admit a trial call again, and of the
 * waits the providers asked for (`retryAfter` of a failure, e.g. a 429's
 * `Retry-After`) that are not over yet. It is absent when nothing said when
 * (e.g. every failure was a 503 without a hint) — a backend can then answer
 * `Retry-After` with a default of its own.
 *
 * @example
 * ```ts
 * import { Duration, Effect } from "effect"
 * import { FallbackChain } from "effect-ai-resilience"
 *
 * declare const chain: Effect.Effect<FallbackChain.Served<string>, FallbackChain.AllModelsFailed>
 * const answer = chain.pipe(
 *   Effect.map((served) => ({ status: 200, body: served.value })),
 *   Effect.catchTag("AllModelsFailed", (e) =>
 *     Effect.succeed({
 *       status: 503,
 *       retryAfterSeconds: e.retryAfter === undefined ? 5 : Math.ceil(Duration.toMillis(e.retryAfter) / 1000)
 *     }))
 * )
 * ```
 *
 * @since 0.1.0
 */
export class AllModelsFailed extends Schema.TaggedError<AllModelsFailed>("effect-ai-resilience/AllModelsFailed")(
  "AllModelsFailed",
  {
    message: Schema.String,
    attempts: Schema.Array(AttemptRecord),
    /** When to come back (see above); encoded as milliseconds. */
    retryAfter: Schema.optional(Schema.DurationFromMillis)
  }
) {}

/**
 * A call could not start (or continue) before the overall deadline.
 *
 * @since 0.1.0
 */
export class DeadlineExceeded extends Schema.TaggedError<DeadlineExceeded>("effect-ai-resilience/DeadlineExceeded")(
  "DeadlineExceeded",
  { message: Schema.String, deadline: Schema.DurationFromMillis, attempts: Schema.Array(AttemptRecord) }
) {}

/**
 * Options for {@link run}.
 *
 * | option | default | source |
 * |---|---|---|
 * | `contentFiltered` | `false` | routing around a safety refusal must be explicit |
 * | `attemptTimeout` | 120 s | a degraded image call takes 60–100+ s; past 120 s another model is the better bet |
 * | `deadline` | none | |
 *
 * @since 0.1.0
 */
export interface FallbackOptions {
  /** Fall over on `ContentFiltered` (hard or soft). */
  readonly contentFiltered?: boolean | undefined
  /** Time-out of one attempt (one HTTP exchange with one model). */
  readonly attemptTimeout?: Duration.DurationInput | undefined
  /** Overall deadline across every retry and fallback of this call. */
  readonly deadline?: Duration.DurationInput | undefined
  /** Per-call retry options for every model of the chain. */
  readonly retry?: RetryPolicy.RetryOptions | undefined
  /** What the chain does (`"text"`, `"image"`, `"video"`), for metrics, spans and logs. */
  readonly operation?: string | undefined
  /**
   * Hears every line of the attempt log as it is written (model status,
   * metrics). Its own failures are not the call's: it cannot fail.
   */
  readonly onAttempt?: ((record: AttemptRecord) => Effect.Effect<void>) | undefined
  /**
   * Whether `model` takes this call (a failback ramp lets a growing share of
   * calls through to a model that has just recovered). A model not admitted is
   * skipped without a call (`reason: "Ramp"`) — unless it is the last model
   * left, which is always tried.
   */
  readonly admit?: ((model: string) => Effect.Effect<boolean>) | undefined
  /**
   * When every other model failed or was skipped: models the failback ramp
   * held back (`admit`) are tried after all; and when no model could be
   * called for open breakers, one last-resort trial of the model whose
   * breaker reopens first (`CircuitBreaker.lastResort`: one at a time, at
   * most one per `lastResortInterval` per model) instead of failing for
   * certain. Default `true`; `false` fails at once.
   */
  readonly lastResort?: boolean | undefined
}

/** @since 0.1.0 */
export const DEFAULT_ATTEMPT_TIMEOUT: Duration.Duration = Duration.seconds(120)

/** A model skipped because its failback ramp did not admit this call (internal: never escapes `run`). */
class NotAdmitted extends Data.TaggedError("NotAdmitted")<{ readonly model: string }> {}

/** The deadline left no time to start (internal: becomes `DeadlineExceeded`). */
class DeadlineReached extends Data.TaggedError("DeadlineReached")<{ readonly model: string }> {}

/** What makes a chain step give up on a model and move to the next. */
type Eligible = GenerationFailure | CircuitBreaker.CircuitOpen | NotAdmitted

const eligible = (options: FallbackOptions) => (error: unknown): boolean =>
  error instanceof CircuitBreaker.CircuitOpen || error instanceof NotAdmitted ||
  (isGenerationFailure(error) && isFallbackEligible(error, { contentFiltered: options.contentFiltered === true }))

/** Records are built from values this module made or checked: no need to validate them again. */
const attemptRecord = (fields: ConstructorParameters<typeof AttemptRecord>[0]): AttemptRecord => new AttemptRecord(fields, true)

const recordOf = (
  model: string,
  attempt: number,
  failure: GenerationFailure,
  durationMs: number
): AttemptRecord =>
  attemptRecord({
    model,
    attempt,
    outcome: "failure",
    category: category(failure),
    reason: failure.reason,
    message: failure.message,
    durationMs,
    ...(failure.status === undefined ? {} : { status: failure.status }),
    ...(failure.requestId === undefined ? {} : { requestId: failure.requestId })
  })

/**
 * The request id a result carries, if any: results are the caller's values,
 * so this looks for the fields this package's results use (`requestId`, or
 * `requestIds` for a request split into calls).
 */
const requestIdOfResult = (value: unknown): string | undefined => {
  if (typeof value !== "object" || value === null) return undefined
  const { requestId, requestIds } = value as { readonly requestId?: unknown; readonly requestIds?: unknown }
  if (typeof requestId === "string" && requestId.length > 0) return requestId
  if (Array.isArray(requestIds)) {
    const ids = requestIds.filter((id): id is string => typeof id === "string" && id.length > 0)
    return ids.length > 0 ? ids.join(",") : undefined
  }
  return undefined
}

/**
 * Run `call` along the priority list.
 *
 * A `deadline` bounds the whole call: no attempt starts once it is reached,
 * retries do not wait past it, and an attempt still in flight when it comes
 * is interrupted (recorded as a failure with reason `"Deadline"`, not counted
 * against the model by its breaker). The call then fails with
 * {@link DeadlineExceeded} — whichever model it was on — while a call whose
 * every model failed in time fails with {@link AllModelsFailed}.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { FallbackChain, Provider, ImageGeneration } from "effect-ai-resilience"
 *
 * const draw = (prompt: string) =>
 *   Effect.gen(function*() {
 *     const provider = yield* Provider.Provider
 *     const models = ["gemini-3-pro-image-preview", "gemini-2.5-flash-image", "flux-2-pro"]
 *     return yield* FallbackChain.run(
 *       models.map((model) => ({ model, call: () => provider.generateImage(ImageGeneration.ImageRequest.make({ model, prompt })) })),
 *       { deadline: "5 minutes" }
 *     )
 *   })
 * ```
 *
 * @since 0.1.0
 */
export const run = <A, E extends GenerationFailure, R>(
  models: ReadonlyArray<ChainModel<() => Effect.Effect<A, E, R>>>,
  options: FallbackOptions = {}
): Effect.Effect<
  Served<A>,
  E | HardFailure | AllModelsFailed | DeadlineExceeded,
  R | CircuitBreaker.CircuitBreakers | RetryPolicy.RetryPolicy
> =>
  Effect.flatMap(CircuitBreaker.CircuitBreakers, (breakers) =>
    Effect.flatMap(RetryPolicy.RetryPolicy, (policy) => runWith({ breakers, policy }, models, options)))

/**
 * {@link run} with the breakers and the retry policy given rather than taken
 * from the context — for code that holds them already (a client built once,
 * called on every request).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { CircuitBreaker, FallbackChain, RetryPolicy } from "effect-ai-resilience"
 *
 * const program = Effect.gen(function*() {
 *   const breakers = yield* CircuitBreaker.CircuitBreakers
 *   const policy = yield* RetryPolicy.RetryPolicy
 *   const models = [{ model: "flux-2-pro", call: () => Effect.succeed("an image") }]
 *   return yield* FallbackChain.runWith({ breakers, policy }, models)
 * })
 * ```
 *
 * @since 0.1.0
 */
export const runWith = <A, E extends GenerationFailure, R>(
  policies: { readonly breakers: CircuitBreaker.CircuitBreakersService; readonly policy: RetryPolicy.RetryPolicyService },
  models: ReadonlyArray<ChainModel<() => Effect.Effect<A, E, R>>>,
  options: FallbackOptions = {}
): Effect.Effect<Served<A>, E | HardFailure | AllModelsFailed | DeadlineExceeded, R> => {
  const { breakers, policy } = policies
  return Effect.flatMap(Clock.currentTimeMillis, (started) => {
        if (models.length === 0) {
          return Effect.fail(new AllModelsFailed({ message: "the fallback chain has no models", attempts: [] }))
        }
        // the attempt log of this execution
        const log: Array<AttemptRecord> = []
        const context = options.operation === undefined ? {} : { operation: options.operation }
        // every line of the log also goes to the metrics and (failures) the structured logs
        const append = (record: AttemptRecord, failure?: GenerationFailure): Effect.Effect<void> => {
          log.push(record)
          const recorded = Observability.recordAttempt(record, failure === undefined ? context : { ...context, failure, provider: failure.provider })
          return options.onAttempt === undefined ? recorded : Effect.zipRight(recorded, options.onAttempt(record))
        }
        const deadline = options.deadline === undefined ? undefined : Duration.decode(options.deadline)
        const deadlineMs = deadline === undefined ? Infinity : Duration.toMillis(deadline)
        const attemptTimeout = options.attemptTimeout === undefined ? DEFAULT_ATTEMPT_TIMEOUT : Duration.decode(options.attemptTimeout)
        const timeoutText = Duration.format(attemptTimeout)
        const leftAt = (now: number) => deadlineMs - (now - started)
        // a model whose retries the deadline cut short makes the outcome DeadlineExceeded
        let cutByDeadline = false
        // epoch ms until which a provider asked us to wait, one per failure that said so
        const waitsAskedUntil: Array<number> = []
        const skipped = (model: string, reason: string, attempt = 0) =>
          append(attemptRecord({ model, attempt, outcome: "skipped", reason, durationMs: 0 }))

        /** One upstream attempt at `entry` (each run is the next attempt number), timed, logged and in a span. */
        const attemptsOf = (entry: ChainModel<() => Effect.Effect<A, E, R>>) => {
          let attempt = 0
          const timedOut = () =>
            new HardFailure({
              reason: "Timeout",
              provider: "chain",
              model: entry.model,
              message: `no answer from ${entry.model} within ${timeoutText}`
            })
          const one = Effect.flatMap(Clock.currentTimeMillis, (t0) => {
            attempt++
            const n = attempt
            return entry.call().pipe(
              (call) => timeoutFail(call, attemptTimeout, timedOut),
              Effect.tapError((failure) =>
                Effect.flatMap(Clock.currentTimeMillis, (t1) => {
                  if (failure.retryAfter !== undefined) waitsAskedUntil.push(t1 + Duration.toMillis(failure.retryAfter))
                  return append(recordOf(entry.model, n, failure, t1 - t0), failure)
                })
              ),
              Effect.tap((result) =>
                Effect.flatMap(Clock.currentTimeMillis, (t1) => {
                  const requestId = requestIdOfResult(result)
                  return append(attemptRecord({
                    model: entry.model,
                    attempt: n,
                    outcome: "success",
                    durationMs: t1 - t0,
                    ...(entry.price === undefined ? {} : { cost: typeof entry.price === "number" ? entry.price : entry.price(result) }),
                    ...(requestId === undefined ? {} : { requestId })
                  }))
                })
              ),
              // cut off: by the deadline, or by the caller
              Effect.onInterrupt(() =>
                Effect.flatMap(Clock.currentTimeMillis, (t1) =>
                  append(attemptRecord({
                    model: entry.model,
                    attempt: n,
                    outcome: "failure",
                    reason: leftAt(t1) <= 0 ? "Deadline" : "Interrupted",
                    durationMs: t1 - t0
                  })))
              ),
              Observability.attemptSpan({ model: entry.model, attempt: n, ...context })
            )
          })
          return { one, made: () => attempt }
        }

        const tryModel = (entry: ChainModel<() => Effect.Effect<A, E, R>>, rank: number, ramp = true) =>
          Effect.gen(function*() {
            if (leftAt(yield* Clock.currentTimeMillis) <= 0) {
              // a fallback that cannot finish before the deadline is not started
              yield* skipped(entry.model, "Deadline")
              return yield* new DeadlineReached({ model: entry.model })
            }
            if (ramp && options.admit !== undefined && rank < models.length - 1 && !(yield* options.admit(entry.model))) {
              yield* skipped(entry.model, "Ramp")
              return yield* new NotAdmitted({ model: entry.model })
            }
            const breaker = yield* breakers.get(entry.model)
            if ((yield* breaker.state) === "open") {
              const snapshot = yield* breaker.snapshot
              yield* skipped(entry.model, "CircuitOpen")
              const now = yield* Clock.currentTimeMillis
              const retryAt = snapshot.openUntil ?? now
              return yield* new CircuitBreaker.CircuitOpen({
                model: entry.model,
                state: "open",
                message: `circuit for ${entry.model} is open; skipped without a call`,
                retryAt,
                retryAfter: Duration.millis(Math.max(0, retryAt - now))
              })
            }
            const attempts = attemptsOf(entry)
            const one = attempts.one
            // The gate (load control) wraps the breaker, which sits inside the
            // retry: every upstream attempt is recorded, and once the breaker
            // opens the remaining retries stop (CircuitOpen is never retried) so
            // the chain moves on. A breaker that opened during these retries, or
            // a half-open breaker whose probe slots are taken, rejects without a
            // call: log it as skipped.
            const guarded = breaker.withBreaker(one).pipe(
              Effect.tapError((error) => error instanceof CircuitBreaker.CircuitOpen ? skipped(entry.model, "CircuitOpen", attempts.made() + 1) : Effect.void)
            )
            const gated = entry.gate === undefined ? guarded : entry.gate(guarded)
            const left = leftAt(yield* Clock.currentTimeMillis)
            const value = yield* policy.retry(gated, {
              ...(options.retry === undefined ? {} : { override: options.retry }),
              ...(left === Infinity ? {} : {
                within: Duration.millis(left),
                onGiveUp: ({ reason }) => Effect.sync(() => { if (reason === "Deadline") cutByDeadline = true })
              })
            })
            return {
              value,
              model: entry.model,
              rank,
              fellBack: rank > 0,
              degraded: false,
              attempts: log.slice(),
              cost: log.reduce((sum, a) => sum + (a.cost ?? 0), 0)
            } satisfies Served<A>
          })

        /**
         * When to come back, from now: the earliest re-open of the breakers of
         * the models skipped for an open circuit (read now: a last-resort trial
         * that failed has pushed its model's back), and the providers' asked-for
         * waits not over yet. Times already past say nothing any more (a retry
         * has waited them out) and are left out.
         */
        const comeBackIn = Effect.gen(function*() {
          const now = yield* Clock.currentTimeMillis
          const skippedOpen = new Set(log.filter((a) => a.outcome === "skipped" && a.reason === "CircuitOpen").map((a) => a.model))
          const times = waitsAskedUntil.slice()
          for (const model of skippedOpen) {
            const snapshot = yield* Effect.flatMap(breakers.get(model), (breaker) => breaker.snapshot)
            if (snapshot.openUntil !== undefined) times.push(snapshot.openUntil)
          }
          const ahead = times.filter((at) => at > now)
          return ahead.length === 0 ? undefined : Duration.millis(Math.min(...ahead) - now)
        })
        const allFailed = Effect.map(comeBackIn, (retryAfter) =>
          new AllModelsFailed({
            message: `all ${models.length} models failed: ${
              models.map((m) => {
                const last = [...log].reverse().find((a) => a.model === m.model)
                return `${m.model} (${last?.reason ?? "not tried"})`
              }).join(", ")
            }`,
            attempts: log.slice(),
            ...(retryAfter === undefined ? {} : { retryAfter })
          }))
        const deadlineExceeded = (): DeadlineExceeded =>
          new DeadlineExceeded({
            message: `deadline of ${Duration.format(deadline ?? Duration.zero)} reached after ${log.filter((a) => a.outcome !== "skipped").length} attempts`,
            deadline: deadline ?? Duration.zero,
            attempts: log.slice()
          })
        const isEligible = eligible(options)
        // fold the list into primary.orElse(second).orElse(third)…, catching only eligible failures
        const chain = models.slice(1).reduce<Effect.Effect<Served<A>, E | Eligible | DeadlineReached, R>>(
          (acc, entry, i) =>
            acc.pipe(Effect.catchIf(
              (error): error is E | Eligible => isEligible(error),
              () => tryModel(entry, i + 1)
            )),
          tryModel(models[0]!, 0)
        )
        // Every other model failed or was skipped: rather than fail for certain,
        // (1) the models the failback ramp held back take the call after all
        // (the ramp spreads load, it does not protect), and (2) when no model
        // could be called at all for open breakers, one last-resort trial of the
        // model whose breaker reopens first (bounded by the breaker: one at a
        // time, one per interval).
        const lastResort = Effect.suspend((): Effect.Effect<Served<A>, E | Eligible | DeadlineReached | undefined, R> => {
          if (options.lastResort === false) return Effect.fail(undefined)
          const called = (model: string) => log.some((a) => a.model === model && a.outcome !== "skipped")
          const heldBack = models.flatMap((entry, rank) =>
            !called(entry.model) && log.some((a) => a.model === entry.model && a.reason === "Ramp") ? [{ entry, rank }] : []
          )
          if (heldBack.length > 0) {
            const [first, ...rest] = heldBack
            return rest.reduce<Effect.Effect<Served<A>, E | Eligible | DeadlineReached, R>>(
              (acc, { entry, rank }) => Effect.catchIf(acc, (error): error is E | Eligible => isEligible(error), () => tryModel(entry, rank, false)),
              tryModel(first!.entry, first!.rank, false)
            )
          }
          if (log.length === 0 || !log.every((a) => a.outcome === "skipped" && a.reason === "CircuitOpen")) {
            return Effect.fail(undefined)
          }
          return Effect.flatMap(
            Effect.forEach(models, (entry, rank) =>
              Effect.flatMap(breakers.get(entry.model), (breaker) =>
                Effect.map(breaker.snapshot, (snapshot) => ({ entry, rank, breaker, at: snapshot.openUntil ?? 0 })))),
            (candidates) => {
              const pick = candidates.reduce((best, c) => (c.at < best.at ? c : best))
              const trial = pick.breaker.lastResort(attemptsOf(pick.entry).one)
              return (pick.entry.gate === undefined ? trial : pick.entry.gate(trial)).pipe(
                Effect.map((value): Served<A> => ({
                  value,
                  model: pick.entry.model,
                  rank: pick.rank,
                  fellBack: pick.rank > 0,
                  degraded: false,
                  attempts: log.slice(),
                  cost: log.reduce((sum, a) => sum + (a.cost ?? 0), 0)
                })),
                // a failure of the trial, or no trial allowed yet: every model failed after all
                Effect.catchIf((error): error is E | CircuitBreaker.CircuitOpen => isEligible(error), () => Effect.fail(undefined))
              )
            }
          )
        })
        const settled = chain.pipe(
          Effect.catchIf(
            (error): error is Eligible | DeadlineReached => !(error instanceof DeadlineReached) && isEligible(error),
            (error) => Effect.catchIf(lastResort, (e): e is undefined => e === undefined, () => Effect.fail(error as Eligible))
          ),
          Effect.catchIf(
            (error): error is Eligible | DeadlineReached => error instanceof DeadlineReached || isEligible(error),
            () =>
              Effect.suspend((): Effect.Effect<never, AllModelsFailed | DeadlineExceeded> =>
                cutByDeadline || log.some((a) => a.reason === "Deadline")
                  ? Effect.fail(deadlineExceeded())
                  : Effect.flatMap(allFailed, Effect.fail)
              )
          )
        )
        if (deadline === undefined) return settled
        // an attempt in flight when the deadline comes is interrupted (and logged) first
        return settled.pipe(
          (call) => timeoutFail(call, deadline, () => new DeadlineReached({ model: "" })),
          Effect.catchIf((error): error is DeadlineReached => error instanceof DeadlineReached, () => Effect.suspend(() => Effect.fail(deadlineExceeded())))
        )
      })
}

/**
 * Graceful degradation: when every model of the chain failed
 * ({@link AllModelsFailed}), serve the caller's stand-in instead — e.g. a
 * placeholder image — marked `degraded: true` with the attempt log kept.
 * Other failures (a `BadRequest`, a missed deadline) still surface.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { FallbackChain } from "effect-ai-resilience"
 *
 * declare const chain: Effect.Effect<FallbackChain.Served<string>, FallbackChain.AllModelsFailed>
 * const withPlaceholder = chain.pipe(FallbackChain.orDegrade(() => Effect.succeed("placeholder.png")))
 * ```
 *
 * @since 0.1.0
 */
export const orDegrade = <A, E2 = never, R2 = never>(standIn: (failure: AllModelsFailed) => Effect.Effect<A, E2, R2>) =>
<E, R>(self: Effect.Effect<Served<A>, E, R>): Effect.Effect<Served<A>, Exclude<E, AllModelsFailed> | E2, R | R2> =>
  Effect.catchIf(
    self,
    (error): error is Extract<E, AllModelsFailed> => error instanceof AllModelsFailed,
    (failure) =>
      Effect.map(standIn(failure), (value): Served<A> => ({
        value,
        model: "degraded",
        rank: -1,
        fellBack: true,
        degraded: true,
        attempts: failure.attempts,
        cost: failure.attempts.reduce((sum, a) => sum + (a.cost ?? 0), 0)
      }))
  ) as Effect.Effect<Served<A>, Exclude<E, AllModelsFailed> | E2, R | R2>
