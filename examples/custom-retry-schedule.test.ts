import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, FastCheck as fc, Fiber, Random, TestClock } from "effect"
import { type Failure, HardFailure } from "effect-ai-resilience"

type HardReason = Failure.HardReason
import { MAX_DELAY, MAX_RETRIES, withPosterRetries } from "./custom-retry-schedule.js"

const failure = (reason: HardReason) =>
  new HardFailure({ reason, provider: "example", model: "m", status: reason === "BadRequest" ? 400 : 503, message: reason })

/** A call that always fails with `reason`, noting the TestClock time of every attempt. */
const alwaysFailing = (reason: HardReason, at: Array<number>) =>
  Effect.flatMap(TestClock.currentTimeMillis, (now) => {
    at.push(now)
    return Effect.fail(failure(reason))
  })

/** Run under TestClock: the schedule's sleeps happen in virtual time. */
const drive = <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(effect)
    yield* TestClock.adjust("1 hour")
    return yield* Fiber.await(fiber)
  })

describe("example: a custom retry schedule (property tests, TestClock, seeded Random)", () => {
  it.effect.prop(
    "every delay is within [0, cap], the n-th within 1.2 × 2 s × 2^n, at most 4 retries, total sleep bounded",
    [fc.integer(), fc.constantFrom<HardReason>("Overloaded", "ServerError", "Timeout", "Network", "RateLimited")],
    ([seed, reason]) =>
      Effect.gen(function*() {
        const at: Array<number> = []
        yield* drive(withPosterRetries(alwaysFailing(reason, at)))
        expect(at.length).toBe(MAX_RETRIES + 1)
        const delays = at.slice(1).map((t, i) => t - at[i]!)
        delays.forEach((d, n) => {
          expect(d).toBeGreaterThanOrEqual(0)
          expect(d).toBeLessThanOrEqual(Duration.toMillis(MAX_DELAY))
          expect(d).toBeLessThanOrEqual(1.2 * 2_000 * 2 ** n + 1)
        })
        expect(delays.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(MAX_RETRIES * Duration.toMillis(MAX_DELAY))
      }).pipe(Effect.withRandom(Random.make(seed))),
    { fastCheck: { numRuns: 40 } }
  )

  it.effect.prop(
    "a failure not worth retrying is never retried",
    [fc.integer(), fc.constantFrom<HardReason>("BadRequest", "Unauthorized", "ContentFiltered", "QuotaExhausted", "NotFound")],
    ([seed, reason]) =>
      Effect.gen(function*() {
        const at: Array<number> = []
        yield* drive(withPosterRetries(alwaysFailing(reason, at)))
        expect(at).toHaveLength(1)
      }).pipe(Effect.withRandom(Random.make(seed))),
    { fastCheck: { numRuns: 20 } }
  )
})
