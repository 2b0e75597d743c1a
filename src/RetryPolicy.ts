/**
 * Retrying a generation call: exponential backoff with jitter, a cap
 * per delay, a maximum number of attempts and of total time, retry-after
 * honoured, and a {@link RetryBudget} shared by every call of the policy.
 *
 * - Only {@link isRetryable} failures are retried (`Timeout`, `Network`,
 *   `Overloaded`, `ServerError`, `RateLimited`), never `BadRequest`,
 *   `Unauthorized`, `NotFound`, `ContentFiltered`, `QuotaExhausted`, … Soft
 *   `Truncated` and silent `InvalidOutput` may be re-asked a configured number
 *   of times (`retryTruncated`, `retryInvalidOutput`; 0 by default).
 * - The delay before retry n (0-based) comes from
 *   `Schedule.exponential(base, factor)` capped at `maxDelay`, then jittered:
 *   `"full"` (uniform in `[0, d]`, the default), `"proportional"` (Effect's
 *   `Schedule.jittered`, 0.8–1.2 × d, capped again), `"decorrelated"` (AWS:
 *   `min(maxDelay, U(base, previous × 3))`) or `"none"`.
 * - A failure's `retryAfter` is honoured: the wait is
 *   `max(backoff, retryAfter)`.
 * - `maxElapsed` is measured from the start of the first attempt. When the
 *   next wait would end after it, the policy gives up at once (reason
 *   `"RetryAfterTooLong"` when the provider's retry-after is what pushes it
 *   past, `"MaxElapsed"` otherwise) so a fallback chain can move on instead
 *   of sleeping. It does not cut a running attempt short: put a time-out on
 *   the effect for that.
 * - On give-up the call fails with the last failure, unchanged.
 *
 * Time comes only from Effect's `Clock` and randomness only from Effect's
 * `Random`, so tests drive it with `TestClock` and a seeded `Random.make`.
 *
 * @since 0.1.0
 */
import {
  Clock,
  Context,
  Duration,
  Effect,
  Either,
  Layer,
  Option,
  Random,
  Schedule,
  ScheduleDecision,
  ScheduleInterval,
  ScheduleIntervals,
  Schema
} from "effect"
import { type GenerationFailure, isGenerationFailure, isRetryable } from "./Failure.js"
import { definedOnly } from "./internal/options.js"
import { decodeOptionsWith, InvalidRetryOptions } from "./internal/retry/options.js"
import * as RetryBudget from "./RetryBudget.js"

/**
 * Options of a retry policy. Every field is optional; see {@link defaults}.
 *
 * @example
 * ```ts
 * import { RetryPolicy } from "effect-ai-resilience"
 *
 * const options: RetryPolicy.RetryOptions = {
 *   base: "2 seconds",
 *   maxAttempts: 5,
 *   jitter: "decorrelated",
 *   retryTruncated: 1
 * }
 * ```
 *
 * @since 0.1.0
 */
export interface RetryOptions {
  /** First backoff delay, before jitter. Finite, > 0. Default 1 second (the usual base is 1–2 s). */
  readonly base?: Duration.DurationInput | undefined
  /** Growth per retry: delay n is `base × factor^n`. Finite, ≥ 1. Default 2 (about 2^attempt seconds, the usual backoff). */
  readonly factor?: number | undefined
  /** How delays are randomised. Default `"full"`. */
  readonly jitter?: "full" | "proportional" | "decorrelated" | "none" | undefined
  /** Cap on each backoff delay. Finite, > 0. Default 30 seconds. */
  readonly maxDelay?: Duration.DurationInput | undefined
  /** Attempts in all, the first included. Integer ≥ 1. Default 4 = first try + 3 retries (the common 3–5 attempts). */
  readonly maxAttempts?: number | undefined
  /**
   * Time budget from the start of the first attempt; no wait may end after
   * it. > 0; `Duration.infinity` for none. Default 120 seconds (the usual
   * overall time-out of one image call with its retries).
   */
  readonly maxElapsed?: Duration.DurationInput | undefined
  /** How many times a soft `Truncated` failure is re-asked. Integer ≥ 0. Default 0. */
  readonly retryTruncated?: number | undefined
  /** How many times a silent `InvalidOutput` failure is re-asked. Integer ≥ 0. Default 0. */
  readonly retryInvalidOutput?: number | undefined
}

/**
 * {@link RetryOptions} with every field present and durations decoded.
 *
 * @example
 * ```ts
 * import { Duration } from "effect"
 * import { RetryPolicy } from "effect-ai-resilience"
 *
 * const options: RetryPolicy.ResolvedRetryOptions = { ...RetryPolicy.defaults, base: Duration.seconds(2) }
 * ```
 *
 * @since 0.1.0
 */
export interface ResolvedRetryOptions {
  readonly base: Duration.Duration
  readonly factor: number
  readonly jitter: "full" | "proportional" | "decorrelated" | "none"
  readonly maxDelay: Duration.Duration
  readonly maxAttempts: number
  readonly maxElapsed: Duration.Duration
  readonly retryTruncated: number
  readonly retryInvalidOutput: number
}

/**
 * The default options.
 *
 * | option | default | source |
 * |---|---|---|
 * | `base` | 1 s | the usual base is 1–2 s |
 * | `factor` | 2 | about 2^attempt seconds |
 * | `jitter` | `"full"` | random jitter keeps many clients from retrying in step (a thundering herd) |
 * | `maxDelay` | 30 s | cap per delay |
 * | `maxAttempts` | 4 | the common 3–5 attempts; past that, the next model is the better bet |
 * | `maxElapsed` | 120 s | the usual overall time-out of one image call with its retries; then the chain moves on |
 * | `retryTruncated` | 0 | opt in: the same request often gives the same output again, and it is billed |
 * | `retryInvalidOutput` | 0 | opt in: the same request often gives the same output again, and it is billed |
 *
 * @example
 * ```ts
 * import { Duration } from "effect"
 * import { RetryPolicy } from "effect-ai-resilience"
 *
 * Duration.toSeconds(RetryPolicy.defaults.maxElapsed) // 120
 * ```
 *
 * @since 0.1.0
 */
export const defaults: ResolvedRetryOptions = {
  base: Duration.seconds(1),
  factor: 2,
  jitter: "full",
  maxDelay: Duration.seconds(30),
  maxAttempts: 4,
  maxElapsed: Duration.seconds(120),
  retryTruncated: 0,
  retryInvalidOutput: 0
}

const DurationInput = Schema.declare(
  (u: unknown): u is Duration.DurationInput =>
    !(typeof u === "number" && Number.isNaN(u)) && Option.isSome(Duration.decodeUnknown(u)),
  {
    identifier: "DurationInput",
    message: () => "must be a Duration, a number of milliseconds or a string such as \"2 seconds\""
  }
)

const DurationFromInput = Schema.transform(DurationInput, Schema.DurationFromSelf, {
  strict: true,
  decode: (input) => Duration.decode(input),
  encode: (duration) => duration
})

const positiveFinite = DurationFromInput.pipe(
  Schema.filter((d) => Duration.isFinite(d) && Duration.greaterThan(d, Duration.zero), {
    message: () => "must be a finite duration greater than 0"
  })
)

const positive = DurationFromInput.pipe(
  Schema.filter((d) => Duration.greaterThan(d, Duration.zero), {
    message: () => "must be a duration greater than 0 (Duration.infinity for no limit)"
  })
)

const integerAtLeast = (min: number) =>
  Schema.Number.pipe(
    Schema.filter((n) => Number.isInteger(n) && n >= min, { message: () => `must be an integer ≥ ${min}` })
  )

const Options = Schema.Struct({
  base: Schema.optionalWith(positiveFinite, { default: () => defaults.base }),
  factor: Schema.optionalWith(
    Schema.Number.pipe(
      Schema.filter((n) => Number.isFinite(n) && n >= 1, { message: () => "must be a finite number ≥ 1" })
    ),
    { default: () => defaults.factor }
  ),
  jitter: Schema.optionalWith(Schema.Literal("full", "proportional", "decorrelated", "none"), {
    default: () => defaults.jitter
  }),
  maxDelay: Schema.optionalWith(positiveFinite, { default: () => defaults.maxDelay }),
  maxAttempts: Schema.optionalWith(integerAtLeast(1), { default: () => defaults.maxAttempts }),
  maxElapsed: Schema.optionalWith(positive, { default: () => defaults.maxElapsed }),
  retryTruncated: Schema.optionalWith(integerAtLeast(0), { default: () => defaults.retryTruncated }),
  retryInvalidOutput: Schema.optionalWith(integerAtLeast(0), { default: () => defaults.retryInvalidOutput })
})

/**
 * Options given to a retry policy or retry budget are invalid (a non-positive
 * `base`, a `factor` below 1, a fractional `maxAttempts`, `NaN`, …). `field`
 * names the option, e.g. `"factor"` or `"budget.maxTokens"`; `message` says
 * what is wrong.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { RetryPolicy } from "effect-ai-resilience"
 *
 * RetryPolicy.make({ factor: 0.5 }).pipe(
 *   Effect.catchTag("InvalidRetryOptions", (e) => Effect.logError(e.field)) // "factor"
 * )
 * ```
 *
 * @since 0.1.0
 */
export { InvalidRetryOptions }

/**
 * Validate options and fill in defaults. Fields missing from `options` come
 * from `base` ({@link defaults} unless given), so a per-call override can be
 * resolved against a policy's options. `undefined` values count as missing.
 *
 * @example
 * ```ts
 * import { Either } from "effect"
 * import { RetryPolicy } from "effect-ai-resilience"
 *
 * Either.isLeft(RetryPolicy.resolve({ maxAttempts: 0 })) // true: field "maxAttempts"
 * ```
 *
 * @since 0.1.0
 */
export const resolve = (
  options?: RetryOptions,
  base: ResolvedRetryOptions = defaults
): Either.Either<ResolvedRetryOptions, InvalidRetryOptions> =>
  decodeOptionsWith(Options, { ...base, ...definedOnly(options) })

/**
 * What `onRetry` sees before each wait.
 *
 * @example
 * ```ts
 * import { Duration, Effect } from "effect"
 * import type { GenerationFailure, RetryPolicy } from "effect-ai-resilience"
 *
 * const onRetry = (info: RetryPolicy.RetryInfo<GenerationFailure>) =>
 *   Effect.logWarning(`attempt ${info.attempt} failed (${info.failure.reason}); retrying in ${Duration.format(info.delay)}`)
 * ```
 *
 * @since 0.1.0
 */
export interface RetryInfo<E> {
  /** 1-based number of the attempt that failed. */
  readonly attempt: number
  readonly failure: E
  /** How long the policy will now wait: `max(backoff, failure.retryAfter)`. */
  readonly delay: Duration.Duration
}

/**
 * Why a policy stopped retrying.
 *
 * - `"NotRetryable"`: the failure is not worth retrying (not
 *   {@link isRetryable}, and not an opted-in `Truncated` / `InvalidOutput`).
 * - `"MaxAttempts"`: `maxAttempts` attempts were made, or the
 *   `retryTruncated` / `retryInvalidOutput` allowance is used up.
 * - `"MaxElapsed"`: the next backoff would end after `maxElapsed`.
 * - `"RetryAfterTooLong"`: the provider's retry-after would end after
 *   `maxElapsed`.
 * - `"BudgetExhausted"`: the shared {@link RetryBudget} forbids more retries.
 * - `"Deadline"`: the next attempt would not start before the end of the
 *   time this call was given (`within`, e.g. what is left of a deadline).
 *
 * @example
 * ```ts
 * import { RetryPolicy } from "effect-ai-resilience"
 *
 * const moveOnNow = (reason: RetryPolicy.GiveUpReason) => reason !== "NotRetryable"
 * ```
 *
 * @since 0.1.0
 */
export type GiveUpReason = "NotRetryable" | "MaxAttempts" | "MaxElapsed" | "RetryAfterTooLong" | "BudgetExhausted" | "Deadline"

/**
 * A retry policy: resolved options, the budget shared by all its calls, and
 * `retry`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { RetryPolicy, type GenerationFailure } from "effect-ai-resilience"
 *
 * declare const call: Effect.Effect<string, GenerationFailure>
 *
 * const program = Effect.gen(function*() {
 *   const policy = yield* RetryPolicy.RetryPolicy
 *   return yield* policy.retry(call, {
 *     onGiveUp: ({ attempt, reason }) => Effect.logWarning(`gave up after ${attempt} attempts: ${reason}`)
 *   })
 * })
 * ```
 *
 * @since 0.1.0
 */
export interface RetryPolicyService {
  readonly options: ResolvedRetryOptions
  readonly budget: RetryBudget.RetryBudget
  /**
   * Run `effect`, retrying per policy; on give-up fails with the LAST failure,
   * unchanged. `override` replaces some options for this call only (the
   * budget stays shared); an invalid override is a defect (it dies with
   * {@link InvalidRetryOptions}: check it with {@link resolve} first).
   * Overrides are resolved once per override object. `within` is the time
   * this call has in all (e.g. what is left of a deadline): no retry waits
   * until or past its end (it gives up with `"Deadline"`).
   * Defects and interruptions of `effect` are not retried, nor are errors that
   * are not classified failures (e.g. `CircuitOpen` from a breaker inside the
   * retry: it fails at once so a fallback chain can move on).
   */
  readonly retry: <A, E, R>(
    effect: Effect.Effect<A, E, R>,
    hooks?: {
      readonly override?: RetryOptions | undefined
      readonly within?: Duration.Duration | undefined
      readonly onRetry?: ((info: RetryInfo<E>) => Effect.Effect<void>) | undefined
      readonly onGiveUp?:
        | ((info: { readonly attempt: number; readonly failure: E; readonly reason: GiveUpReason }) => Effect.Effect<void>)
        | undefined
    }
  ) => Effect.Effect<A, E, R>
}

/**
 * The retry policy in scope.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { RetryPolicy, type GenerationFailure } from "effect-ai-resilience"
 *
 * declare const call: Effect.Effect<string, GenerationFailure>
 *
 * const program = Effect.flatMap(RetryPolicy.RetryPolicy, (policy) => policy.retry(call)).pipe(
 *   Effect.provide(RetryPolicy.layer({ maxAttempts: 5 }))
 * )
 * ```
 *
 * @since 0.1.0
 */
export class RetryPolicy extends Context.Tag("effect-ai-resilience/RetryPolicy")<RetryPolicy, RetryPolicyService>() {}

const millis = (d: Duration.Duration): number => Duration.toMillis(d)

/**
 * AWS "decorrelated jitter": `next = min(cap, U(base, previous × 3))`, the
 * first `previous` being `base`. (`factor` plays no part.)
 */
const decorrelated = (options: ResolvedRetryOptions): Schedule.Schedule<Duration.Duration, unknown> => {
  const base = millis(options.base)
  const cap = millis(options.maxDelay)
  return Schedule.makeWithState<number, unknown, Duration.Duration>(base, (now, _, previous) =>
    Effect.map(Random.next, (r) => {
      const high = previous * 3
      const next = Math.min(cap, base + (high - base) * r)
      return [
        next,
        Duration.millis(next),
        ScheduleDecision.continueWith(ScheduleInterval.after(now + next))
      ] as const
    }))
}

const capAt = (cap: Duration.Duration) =>
<Out, In, R>(self: Schedule.Schedule<Out, In, R>): Schedule.Schedule<Out, In, R> =>
  Schedule.modifyDelay(self, (_, delay) => Duration.min(delay, cap))

/**
 * The backoff alone, unbounded: its output is the delay actually waited.
 */
const backoff = (options: ResolvedRetryOptions): Schedule.Schedule<Duration.Duration, unknown> => {
  if (options.jitter === "decorrelated") return decorrelated(options)
  const capped = capAt(options.maxDelay)(Schedule.exponential(options.base, options.factor))
  switch (options.jitter) {
    case "full":
      return Schedule.delays(Schedule.jitteredWith(capped, { min: 0, max: 1 }))
    case "proportional":
      return Schedule.delays(capAt(options.maxDelay)(Schedule.jittered(capped)))
    case "none":
      return Schedule.delays(capped)
  }
}

/**
 * Stop (at once, without waiting) when the next delay would end more than
 * `maxElapsed` after the first step.
 */
const within = (maxElapsed: Duration.Duration) =>
<Out, In, R>(self: Schedule.Schedule<Out, In, R>): Schedule.Schedule<Out, In, R> => {
  const limit = millis(maxElapsed)
  return Schedule.makeWithState<readonly [number | undefined, unknown], In, Out, R>(
    [undefined, self.initial],
    (now, input, [start, state]) =>
      Effect.map(self.step(now, input, state), ([next, out, decision]) => {
        const first = start ?? now
        const over = ScheduleDecision.isContinue(decision) &&
          ScheduleIntervals.start(decision.intervals) - first > limit
        return [[first, next] as const, out, over ? ScheduleDecision.done : decision] as const
      })
  )
}

/**
 * The backoff delays alone (no retry-after, no budget) — for property tests
 * and inspection. Each output is the delay waited before the next attempt;
 * the schedule recurs at most `maxAttempts - 1` times and stops, without
 * waiting, when a delay would end more than `maxElapsed` after its first step.
 * The schedule looks at no input: used with `Effect.retry` it retries every
 * failure unless told otherwise (`while: isRetryable`). Invalid options make
 * the schedule die with {@link InvalidRetryOptions} when stepped (validate
 * with {@link resolve} first).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { isRetryable, RetryPolicy, type GenerationFailure } from "effect-ai-resilience"
 *
 * declare const call: Effect.Effect<string, GenerationFailure>
 *
 * // Effect's own retry with the policy's backoff: waits 1 s, 2 s, 4 s, then fails
 * const retried = Effect.retry(call, { schedule: RetryPolicy.delays({ jitter: "none" }), while: isRetryable })
 * ```
 *
 * @since 0.1.0
 */
export const delays = (options?: RetryOptions): Schedule.Schedule<Duration.Duration, unknown> =>
  Either.match(resolve(options), {
    onLeft: (error) =>
      Schedule.makeWithState<undefined, unknown, Duration.Duration>(undefined, () => Effect.die(error)),
    onRight: (resolved) =>
      backoff(resolved).pipe(
        Schedule.zipLeft(Schedule.recurs(resolved.maxAttempts - 1)),
        within(resolved.maxElapsed)
      )
  })

/**
 * n-th (0-based) un-jittered delay: min(maxDelay, base * factor^n)
 *
 * @example
 * ```ts
 * import { Duration } from "effect"
 * import { RetryPolicy } from "effect-ai-resilience"
 *
 * Duration.toSeconds(RetryPolicy.ceiling(RetryPolicy.defaults, 2)) // 4
 * Duration.toSeconds(RetryPolicy.ceiling(RetryPolicy.defaults, 10)) // 30 (the cap)
 * ```
 *
 * @since 0.1.0
 */
export const ceiling = (options: ResolvedRetryOptions, n: number): Duration.Duration =>
  Duration.min(options.maxDelay, Duration.millis(millis(options.base) * Math.pow(options.factor, n)))

type Eligibility =
  | { readonly _tag: "Never" }
  | { readonly _tag: "Always" }
  | { readonly _tag: "Allowance"; readonly kind: "truncated" | "invalidOutput"; readonly allowance: number }

const eligibility = (failure: GenerationFailure, options: ResolvedRetryOptions): Eligibility => {
  if (isRetryable(failure)) return { _tag: "Always" }
  if (failure._tag === "SoftFailure" && failure.reason === "Truncated" && options.retryTruncated > 0) {
    return { _tag: "Allowance", kind: "truncated", allowance: options.retryTruncated }
  }
  if (failure._tag === "SilentFailure" && failure.reason === "InvalidOutput" && options.retryInvalidOutput > 0) {
    return { _tag: "Allowance", kind: "invalidOutput", allowance: options.retryInvalidOutput }
  }
  return { _tag: "Never" }
}

const isRetryBudget = (u: RetryBudget.RetryBudgetOptions | RetryBudget.RetryBudget): u is RetryBudget.RetryBudget =>
  "canRetry" in u && Effect.isEffect(u.canRetry)

const makeRetry = (
  policyOptions: ResolvedRetryOptions,
  budget: RetryBudget.RetryBudget
): RetryPolicyService["retry"] => {
  const schedule = backoff(policyOptions)
  // the same override object (e.g. a client's configured defaults) is resolved once
  const overrides = new WeakMap<RetryOptions, readonly [ResolvedRetryOptions, Schedule.Schedule<Duration.Duration, unknown>]>()
  const resolveOverride = (override: RetryOptions) =>
    Effect.suspend(() => {
      const known = overrides.get(override)
      if (known !== undefined) return Effect.succeed(known)
      return Effect.map(Effect.orDie(resolve(override, policyOptions)), (options) => {
        const made = [options, backoff(options)] as const
        overrides.set(override, made)
        return made
      })
    })
  return (effect, hooks) =>
    Effect.flatMap(
      hooks?.override === undefined ? Effect.succeed([policyOptions, schedule] as const) : resolveOverride(hooks.override),
      ([options, schedule]) =>
        Effect.gen(function*() {
          const maxElapsed = millis(options.maxElapsed)
          const within = hooks?.within === undefined ? Infinity : millis(hooks.within)
          const start = yield* Clock.currentTimeMillis
          const retried = { truncated: 0, invalidOutput: 0 }
          let state: unknown = schedule.initial
          let attempt = 0
          while (true) {
            attempt++
            const result = yield* Effect.either(effect)
            if (Either.isRight(result)) {
              yield* budget.recordSuccess
              return result.right
            }
            const failure = result.left
            const giveUp = (reason: GiveUpReason) =>
              Effect.zipRight(
                hooks?.onGiveUp === undefined ? Effect.void : hooks.onGiveUp({ attempt, failure, reason }),
                Effect.fail(failure)
              )
            if (!isGenerationFailure(failure)) return yield* giveUp("NotRetryable")
            const eligible = eligibility(failure, options)
            if (eligible._tag === "Never") return yield* giveUp("NotRetryable")
            yield* budget.recordFailure
            if (attempt >= options.maxAttempts) return yield* giveUp("MaxAttempts")
            if (eligible._tag === "Allowance" && retried[eligible.kind] >= eligible.allowance) {
              return yield* giveUp("MaxAttempts")
            }
            if (!(yield* budget.canRetry)) return yield* giveUp("BudgetExhausted")
            const now = yield* Clock.currentTimeMillis
            const [next, backoffDelay, decision] = yield* schedule.step(now, failure, state)
            state = next
            if (ScheduleDecision.isDone(decision)) return yield* giveUp("MaxAttempts")
            const retryAfter = failure.retryAfter
            const fromRetryAfter = retryAfter !== undefined && Duration.greaterThan(retryAfter, backoffDelay)
            const delay = fromRetryAfter ? retryAfter : backoffDelay
            const elapsedAfterWait = now + millis(delay) - start
            // an attempt that would start with no time left is not worth waiting for
            if (elapsedAfterWait >= within) return yield* giveUp("Deadline")
            if (elapsedAfterWait > maxElapsed) {
              return yield* giveUp(fromRetryAfter ? "RetryAfterTooLong" : "MaxElapsed")
            }
            if (eligible._tag === "Allowance") retried[eligible.kind]++
            if (hooks?.onRetry !== undefined) yield* hooks.onRetry({ attempt, failure, delay })
            yield* Effect.sleep(delay)
          }
        })
    )
}

/**
 * Build a retry policy. `budget` is either options for a new
 * {@link RetryBudget} (shared by every call of this policy) or an existing
 * budget, e.g. one shared by several policies, or `RetryBudget.unlimited`.
 * Fails with {@link InvalidRetryOptions} naming the field when an option is
 * invalid (budget fields are named `budget.maxTokens`, `budget.tokenRatio`).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { HardFailure, RetryPolicy } from "effect-ai-resilience"
 *
 * const program = Effect.gen(function*() {
 *   const policy = yield* RetryPolicy.make({ base: "2 seconds", maxAttempts: 5, budget: { maxTokens: 20 } })
 *   return yield* policy.retry(
 *     Effect.fail(new HardFailure({ reason: "Overloaded", provider: "p", model: "m", status: 503, message: "busy" }))
 *   )
 * })
 * ```
 *
 * @since 0.1.0
 */
export const make = (
  options?: RetryOptions & { readonly budget?: RetryBudget.RetryBudgetOptions | RetryBudget.RetryBudget | undefined }
): Effect.Effect<RetryPolicyService, InvalidRetryOptions> =>
  Effect.gen(function*() {
    const resolved = yield* resolve(options)
    const budgetOption = options?.budget
    const budget = budgetOption !== undefined && isRetryBudget(budgetOption)
      ? budgetOption
      : yield* RetryBudget.make(budgetOption).pipe(
        Effect.mapError((e) =>
          new InvalidRetryOptions({ field: `budget.${e.field}`, message: `budget.${e.message}` })
        )
      )
    return { options: resolved, budget, retry: makeRetry(resolved, budget) }
  })

/**
 * A layer providing a {@link RetryPolicy} built by {@link make}, with its own
 * budget.
 *
 * @example
 * ```ts
 * import { RetryPolicy } from "effect-ai-resilience"
 *
 * const RetryLive = RetryPolicy.layer({ maxAttempts: 5, budget: { maxTokens: 20, tokenRatio: 0.2 } })
 * ```
 *
 * @since 0.1.0
 */
export const layer = (
  options?: RetryOptions & { readonly budget?: RetryBudget.RetryBudgetOptions | undefined }
): Layer.Layer<RetryPolicy, InvalidRetryOptions> => Layer.effect(RetryPolicy, make(options))
