/**
 * A retry budget: a gRPC-style token bucket shared by every call that uses
 * the same retry policy, so a vendor-wide outage cannot multiply the load we
 * send upstream.
 *
 * - The bucket starts full, at `maxTokens` (default 10).
 * - Each failed attempt that the policy would retry costs 1 token.
 * - Each success returns `tokenRatio` tokens (default 0.1), up to `maxTokens`.
 * - Retries are allowed only while `tokens > maxTokens / 2`.
 *
 * So with the defaults, once about five attempts have failed in a row across
 * all callers, callers stop retrying and fail at once (a fallback chain then
 * moves on); it takes ten successes to earn back one retry.
 *
 * Token arithmetic is done in thousandths of a token, as gRPC does, so
 * repeated `+ 0.1` steps do not drift.
 *
 * @since 0.1.0
 */
import { Effect, Ref, Schema } from "effect"
import { definedOnly } from "./internal/options.js"
import { decodeOptionsWith, InvalidRetryOptions } from "./internal/retry/options.js"

/**
 * Options for {@link make}.
 *
 * @example
 * ```ts
 * import { RetryBudget } from "effect-ai-resilience"
 *
 * const options: RetryBudget.RetryBudgetOptions = { maxTokens: 20, tokenRatio: 0.2 }
 * ```
 *
 * @since 0.1.0
 */
export interface RetryBudgetOptions {
  /** Capacity of the bucket, and its initial content. Finite, > 0. Default 10. */
  readonly maxTokens?: number | undefined
  /** Tokens returned by each success. Finite, ≥ 0. Default 0.1. */
  readonly tokenRatio?: number | undefined
}

/**
 * A token bucket deciding whether a retry may be sent.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { RetryBudget } from "effect-ai-resilience"
 *
 * const program = Effect.gen(function*() {
 *   const budget = yield* RetryBudget.make()
 *   yield* budget.recordFailure
 *   return yield* budget.canRetry // true: 9 > 10 / 2
 * })
 * ```
 *
 * @since 0.1.0
 */
export interface RetryBudget {
  /** Tokens currently in the bucket. */
  readonly tokens: Effect.Effect<number>
  /** true while tokens > maxTokens / 2 */
  readonly canRetry: Effect.Effect<boolean>
  /** A failed attempt: take one token (never below 0). */
  readonly recordFailure: Effect.Effect<void>
  /** A successful attempt: return `tokenRatio` tokens (never above `maxTokens`). */
  readonly recordSuccess: Effect.Effect<void>
}

/**
 * The defaults of {@link RetryBudgetOptions}: `maxTokens` 10 and
 * `tokenRatio` 0.1, gRPC's own example values.
 *
 * @example
 * ```ts
 * import { RetryBudget } from "effect-ai-resilience"
 *
 * RetryBudget.defaults.maxTokens // 10
 * ```
 *
 * @since 0.1.0
 */
export const defaults: { readonly maxTokens: number; readonly tokenRatio: number } = {
  maxTokens: 10,
  tokenRatio: 0.1
}

const Options = Schema.Struct({
  maxTokens: Schema.optionalWith(
    Schema.Number.pipe(
      Schema.filter((n) => Number.isFinite(n) && n > 0, {
        message: () => "must be a finite number greater than 0"
      })
    ),
    { default: () => defaults.maxTokens }
  ),
  tokenRatio: Schema.optionalWith(
    Schema.Number.pipe(
      Schema.filter((n) => Number.isFinite(n) && n >= 0, {
        message: () => "must be a finite number ≥ 0"
      })
    ),
    { default: () => defaults.tokenRatio }
  )
})

/** Thousandths of a token. */
const SCALE = 1000

/**
 * A new, full bucket. Fails with {@link InvalidRetryOptions} naming the field
 * when `maxTokens` is not a finite number > 0 or `tokenRatio` is not a finite
 * number ≥ 0.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { RetryBudget } from "effect-ai-resilience"
 *
 * const program = Effect.gen(function*() {
 *   const budget = yield* RetryBudget.make({ maxTokens: 4 })
 *   yield* budget.recordFailure // 3 left
 *   yield* budget.recordFailure // 2 left: 2 > 4 / 2 is false
 *   return yield* budget.canRetry // false
 * })
 * ```
 *
 * @since 0.1.0
 */
export const make = (options?: RetryBudgetOptions): Effect.Effect<RetryBudget, InvalidRetryOptions> =>
  Effect.flatMap(decodeOptionsWith(Options, definedOnly(options)), fromResolved)

const fromResolved = (options: { readonly maxTokens: number; readonly tokenRatio: number }): Effect.Effect<RetryBudget> => {
  const max = Math.round(options.maxTokens * SCALE)
  const ratio = Math.round(options.tokenRatio * SCALE)
  return Effect.map(Ref.make(max), (ref): RetryBudget => ({
    tokens: Effect.map(Ref.get(ref), (milli) => milli / SCALE),
    canRetry: Effect.map(Ref.get(ref), (milli) => milli * 2 > max),
    recordFailure: Ref.update(ref, (milli) => Math.max(0, milli - SCALE)),
    recordSuccess: Ref.update(ref, (milli) => Math.min(max, milli + ratio))
  }))
}

/**
 * A budget that never blocks a retry (for per-call overrides and tests).
 * `tokens` is always `Infinity`.
 *
 * @example
 * ```ts
 * import { RetryBudget, RetryPolicy } from "effect-ai-resilience"
 *
 * const policy = RetryPolicy.make({ budget: RetryBudget.unlimited })
 * ```
 *
 * @since 0.1.0
 */
export const unlimited: RetryBudget = {
  tokens: Effect.succeed(Infinity),
  canRetry: Effect.succeed(true),
  recordFailure: Effect.void,
  recordSuccess: Effect.void
}

/**
 * Options given to a retry policy or retry budget are invalid. `field` names
 * the option, e.g. `"factor"` or `"budget.maxTokens"`. (The same class as
 * `RetryPolicy.InvalidRetryOptions`.)
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { RetryBudget } from "effect-ai-resilience"
 *
 * RetryBudget.make({ maxTokens: 0 }).pipe(
 *   Effect.catchTag("InvalidRetryOptions", (e) => Effect.logError(e.message)) // "maxTokens: must be …"
 * )
 * ```
 *
 * @since 0.1.0
 */
export { InvalidRetryOptions }
