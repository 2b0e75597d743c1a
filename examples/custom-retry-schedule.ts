/**
 * Example: your own retry schedule, built from Effect's `Schedule`, used for
 * provider calls — and property-tested (see custom-retry-schedule.test.ts).
 *
 * Exponential from 2 s (×2), Effect's 0.8–1.2 jitter, each delay capped at
 * 20 s, at most 4 retries; only failures `isRetryable` says are worth it
 * (never a 400, 401, content filter or used-up quota).
 *
 *   npx tsx examples/custom-retry-schedule.ts
 */
import { Console, Duration, Effect, Schedule } from "effect"
import { type GenerationFailure, HardFailure, isRetryable } from "effect-ai-resilience"

/** The cap on one delay. */
export const MAX_DELAY = Duration.seconds(20)
/** Retries after the first attempt. */
export const MAX_RETRIES = 4

/** The schedule: exponential, jittered, capped, bounded. */
export const posterRetrySchedule: Schedule.Schedule<Duration.Duration, unknown> = Schedule.exponential("2 seconds", 2).pipe(
  Schedule.jittered,
  Schedule.modifyDelay((_, delay) => Duration.min(delay, MAX_DELAY)),
  Schedule.intersect(Schedule.recurs(MAX_RETRIES)),
  Schedule.map(([delay]) => delay)
)

/** Retry a provider call with the schedule, only when the failure is worth retrying. */
export const withPosterRetries = <A, R>(call: Effect.Effect<A, GenerationFailure, R>): Effect.Effect<A, GenerationFailure, R> =>
  Effect.retry(call, { schedule: posterRetrySchedule, while: isRetryable })

if (import.meta.url === `file://${process.argv[1]}`) {
  let n = 0
  const flaky = Effect.suspend(() =>
    ++n < 3
      ? Effect.fail(new HardFailure({ reason: "Overloaded", provider: "example", model: "m", status: 503, message: "high demand" }))
      : Effect.succeed(`served on attempt ${n}`)
  )
  Effect.runPromise(withPosterRetries(flaky).pipe(Effect.tap(Console.log)))
}
