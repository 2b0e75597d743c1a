import { describe, expect, it } from "@effect/vitest"
import {
  Arbitrary,
  Cause,
  Chunk,
  Clock,
  Duration,
  Effect,
  Either,
  Exit,
  FastCheck as fc,
  Fiber,
  Option,
  Random,
  Schedule,
  ScheduleDecision,
  TestClock
} from "effect"
import {
  type GenerationFailure,
  GenerationFailure as GenerationFailureSchema,
  HardFailure,
  type HardReason,
  isRetryable,
  SilentFailure,
  SoftFailure
} from "../src/Failure.js"
import * as RetryBudget from "../src/RetryBudget.js"
import * as RetryPolicy from "../src/RetryPolicy.js"

// ---------------------------------------------------------------------------
// helpers

const hard = (reason: HardReason, retryAfter?: Duration.DurationInput) =>
  new HardFailure({
    reason,
    provider: "sim",
    model: "m",
    message: reason,
    ...(retryAfter === undefined ? {} : { retryAfter: Duration.decode(retryAfter) })
  })
const truncated = () =>
  new SoftFailure({ reason: "Truncated", provider: "sim", model: "m", status: 200, message: "finish_reason: length" })
const invalidOutput = () =>
  new SilentFailure({
    reason: "InvalidOutput",
    provider: "sim",
    model: "m",
    status: 200,
    message: "not one of",
    validator: "oneOf",
    output: "maybe"
  })

/**
 * A fake upstream: call n (0-based) fails with `script(n)`, or succeeds with
 * `"ok"` when that is undefined. Records the TestClock time of every call.
 */
const upstream = <E extends GenerationFailure>(script: (n: number) => E | undefined) => {
  const calls: Array<number> = []
  const failures: Array<E> = []
  const effect: Effect.Effect<string, E> = Effect.flatMap(Clock.currentTimeMillis, (now) => {
    const failure = script(calls.length)
    calls.push(now)
    if (failure === undefined) return Effect.succeed("ok")
    failures.push(failure)
    return Effect.fail(failure)
  })
  return { effect, calls, failures }
}
const failing = <E extends GenerationFailure>(...failures: ReadonlyArray<E>) => upstream((n) => failures[n])
const alwaysFailing = <E extends GenerationFailure>(failure: E) => upstream(() => failure)

interface Recorded<E> {
  readonly retries: Array<RetryPolicy.RetryInfo<E> & { readonly at: number }>
  readonly giveUps: Array<{ readonly attempt: number; readonly failure: E; readonly reason: RetryPolicy.GiveUpReason; readonly at: number }>
}
const recorder = <E>() => {
  const recorded: Recorded<E> = { retries: [], giveUps: [] }
  const hooks = {
    onRetry: (info: RetryPolicy.RetryInfo<E>) =>
      Effect.map(Clock.currentTimeMillis, (at) => void recorded.retries.push({ ...info, at })),
    onGiveUp: (info: { readonly attempt: number; readonly failure: E; readonly reason: RetryPolicy.GiveUpReason }) =>
      Effect.map(Clock.currentTimeMillis, (at) => void recorded.giveUps.push({ ...info, at }))
  }
  return { recorded, hooks }
}

/**
 * Fork, then move the TestClock exactly to each pending wake-up in turn until
 * the fiber is done; the clock ends at the time of the last event.
 */
const runToEnd = <A, E>(self: Effect.Effect<A, E>): Effect.Effect<Exit.Exit<A, E>> =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(self)
    yield* TestClock.adjust(0) // let it run until it sleeps or ends
    while (true) {
      const exit = yield* Fiber.poll(fiber)
      if (Option.isSome(exit)) return exit.value
      const wakeUps = Chunk.toReadonlyArray(yield* TestClock.sleeps())
      if (wakeUps.length === 0) return yield* Effect.dieMessage("fiber is stuck without a pending sleep")
      yield* TestClock.setTime(Math.min(...wakeUps))
    }
  })

const failureOf = <A, E>(exit: Exit.Exit<A, E>): E | undefined =>
  Exit.isFailure(exit) ? Option.getOrUndefined(Cause.failureOption(exit.cause)) : undefined

const ms = Duration.toMillis
/** Float tolerance: jittered delays are rounded to whole nanoseconds. */
const EPS = 1e-6
const gaps = (calls: ReadonlyArray<number>) => calls.slice(1).map((t, i) => t - calls[i]!)

/** Step a schedule with zero-time attempts until it is done (or `limit` steps). */
const stepAll = (schedule: Schedule.Schedule<Duration.Duration, unknown>, limit = 100) =>
  Effect.gen(function*() {
    const out: Array<number> = []
    let state = schedule.initial
    let now = 0
    for (let i = 0; i < limit; i++) {
      const [next, delay, decision] = yield* schedule.step(now, undefined, state)
      if (ScheduleDecision.isDone(decision)) break
      state = next
      out.push(ms(delay))
      now += ms(delay)
    }
    return out
  })

// ---------------------------------------------------------------------------
// arbitraries

const jitterArb = fc.constantFrom("full" as const, "proportional" as const, "decorrelated" as const, "none" as const)
const optionsArb = fc.record({
  base: fc.integer({ min: 1, max: 5_000 }),
  factor: fc.double({ min: 1, max: 4, noNaN: true }),
  jitter: jitterArb,
  maxDelay: fc.integer({ min: 1, max: 60_000 }),
  maxAttempts: fc.integer({ min: 1, max: 8 }),
  maxElapsed: fc.integer({ min: 1, max: 200_000 })
})
const seedArb = fc.integer()
const retryableReasonArb = fc.constantFrom<HardReason>("Timeout", "Network", "Overloaded", "ServerError", "RateLimited")

/** The bound on the n-th (0-based) backoff delay for each kind of jitter. */
const upperBound = (options: RetryPolicy.ResolvedRetryOptions, n: number): number => {
  const c = ms(RetryPolicy.ceiling(options, n))
  switch (options.jitter) {
    case "full":
    case "none":
      return c
    case "proportional":
      return Math.min(ms(options.maxDelay), 1.2 * c)
    case "decorrelated":
      return ms(options.maxDelay)
  }
}

const resolved = (options: RetryPolicy.RetryOptions) => Either.getOrThrow(RetryPolicy.resolve(options))

// ---------------------------------------------------------------------------

describe("RetryPolicy examples", () => {
  it.effect("429 with retry-after 20s waits 20s then succeeds", () =>
    Effect.gen(function*() {
      const policy = yield* RetryPolicy.make()
      const up = failing(hard("RateLimited", "20 seconds"))
      const exit = yield* runToEnd(policy.retry(up.effect))
      expect(exit).toStrictEqual(Exit.succeed("ok"))
      expect(up.calls).toEqual([0, 20_000])
    }))

  it.effect("400 is never retried", () =>
    Effect.gen(function*() {
      const policy = yield* RetryPolicy.make({ budget: RetryBudget.unlimited })
      const up = alwaysFailing(hard("BadRequest"))
      const { hooks, recorded } = recorder<HardFailure>()
      const exit = yield* runToEnd(policy.retry(up.effect, hooks))
      expect(up.calls).toEqual([0])
      expect(failureOf(exit)).toBe(up.failures[0])
      expect(recorded.retries).toEqual([])
      expect(recorded.giveUps.map((g) => [g.attempt, g.reason])).toEqual([[1, "NotRetryable"]])
    }))

  it.effect("an error that is not a classified failure (e.g. an open circuit) is not retried and costs no budget", () =>
    Effect.gen(function*() {
      const policy = yield* RetryPolicy.make()
      const before = yield* policy.budget.tokens
      let calls = 0
      const open = Effect.suspend(() => {
        calls++
        return Effect.fail({ _tag: "CircuitOpen" as const })
      })
      const reasons: Array<string> = []
      const error = yield* Effect.flip(policy.retry(open, { onGiveUp: ({ reason }) => Effect.sync(() => reasons.push(reason)) }))
      expect(error._tag).toBe("CircuitOpen")
      expect([calls, reasons]).toEqual([1, ["NotRetryable"]])
      expect(yield* policy.budget.tokens).toBe(before)
    }))

  it.effect("503 three times then success: four calls, delays within full-jitter bounds 1 s, 2 s, 4 s", () =>
    Effect.gen(function*() {
      const policy = yield* RetryPolicy.make()
      const up = failing(hard("Overloaded"), hard("Overloaded"), hard("Overloaded"))
      const exit = yield* runToEnd(policy.retry(up.effect))
      expect(exit).toStrictEqual(Exit.succeed("ok"))
      expect(up.calls).toHaveLength(4)
      gaps(up.calls).forEach((gap, n) => {
        expect(gap).toBeGreaterThanOrEqual(0)
        expect(gap).toBeLessThanOrEqual(1000 * 2 ** n + EPS)
      })
    }).pipe(Effect.withRandom(Random.make("503"))))

  it.effect("gives up after maxAttempts with the last failure, unchanged", () =>
    Effect.gen(function*() {
      const policy = yield* RetryPolicy.make({ budget: RetryBudget.unlimited })
      let n = 0
      const up = upstream(() => new HardFailure({ reason: "ServerError", provider: "sim", model: "m", message: `#${++n}` }))
      const { hooks, recorded } = recorder<HardFailure>()
      const exit = yield* runToEnd(policy.retry(up.effect, hooks))
      expect(up.calls).toHaveLength(4)
      expect(failureOf(exit)).toBe(up.failures[3])
      expect(failureOf(exit)?.message).toBe("#4")
      expect(recorded.giveUps.map((g) => [g.attempt, g.reason])).toEqual([[4, "MaxAttempts"]])
    }))

  it.effect("Truncated retried once when retryTruncated = 1", () =>
    Effect.gen(function*() {
      const policy = yield* RetryPolicy.make({ retryTruncated: 1, jitter: "none" })
      const twice = alwaysFailing(truncated())
      const { hooks, recorded } = recorder<SoftFailure>()
      const exit = yield* runToEnd(policy.retry(twice.effect, hooks))
      expect(twice.calls).toEqual([0, 1000])
      expect(failureOf(exit)).toBe(twice.failures[1])
      expect(recorded.giveUps.map((g) => [g.attempt, g.reason])).toEqual([[2, "MaxAttempts"]])

      const once = failing(truncated())
      expect(yield* runToEnd(policy.retry(once.effect))).toStrictEqual(Exit.succeed("ok"))
      expect(once.calls).toHaveLength(2)
    }))

  it.effect("Truncated and InvalidOutput are not retried by default", () =>
    Effect.gen(function*() {
      const policy = yield* RetryPolicy.make()
      for (const failure of [truncated(), invalidOutput()]) {
        const up = failing<GenerationFailure>(failure)
        const { hooks, recorded } = recorder<GenerationFailure>()
        const exit = yield* runToEnd(policy.retry(up.effect, hooks))
        expect(up.calls).toEqual([0])
        expect(failureOf(exit)).toBe(failure)
        expect(recorded.giveUps.map((g) => g.reason)).toEqual(["NotRetryable"])
      }
    }))

  it.effect("InvalidOutput retried twice when retryInvalidOutput = 2, still bounded by maxAttempts", () =>
    Effect.gen(function*() {
      const policy = yield* RetryPolicy.make({ retryInvalidOutput: 2, budget: RetryBudget.unlimited })
      const up = alwaysFailing(invalidOutput())
      yield* runToEnd(policy.retry(up.effect))
      expect(up.calls).toHaveLength(3)

      const capped = yield* RetryPolicy.make({ retryInvalidOutput: 5, maxAttempts: 2 })
      const up2 = alwaysFailing(invalidOutput())
      yield* runToEnd(capped.retry(up2.effect))
      expect(up2.calls).toHaveLength(2)
    }))

  it.effect("onRetry sees attempt numbers and delays", () =>
    Effect.gen(function*() {
      const policy = yield* RetryPolicy.make({ jitter: "none", base: "500 millis", factor: 3 })
      const up = failing(hard("Timeout"), hard("Network"), hard("RateLimited", "10 seconds"))
      const { hooks, recorded } = recorder<HardFailure>()
      const exit = yield* runToEnd(policy.retry(up.effect, hooks))
      expect(exit).toStrictEqual(Exit.succeed("ok"))
      expect(recorded.retries.map((r) => [r.attempt, r.failure.reason, ms(r.delay), r.at])).toEqual([
        [1, "Timeout", 500, 0],
        [2, "Network", 1500, 500],
        [3, "RateLimited", 10_000, 2000] // max(backoff 4.5 s, retry-after 10 s)
      ])
      expect(up.calls).toEqual([0, 500, 2000, 12_000])
      expect(recorded.giveUps).toEqual([])
    }))

  it.effect("per-call override changes this call only; the policy keeps its options", () =>
    Effect.gen(function*() {
      const policy = yield* RetryPolicy.make({ jitter: "none", budget: RetryBudget.unlimited })
      const overridden = alwaysFailing(hard("Overloaded"))
      yield* runToEnd(policy.retry(overridden.effect, { override: { maxAttempts: 2, base: "100 millis" } }))
      expect(overridden.calls).toEqual([0, 100])

      const plain = alwaysFailing(hard("Overloaded"))
      yield* runToEnd(policy.retry(plain.effect))
      expect(gaps(plain.calls)).toEqual([1000, 2000, 4000])
      expect(policy.options.maxAttempts).toBe(4)
    }))

  it.effect("an invalid per-call override is a defect naming the field", () =>
    Effect.gen(function*() {
      const policy = yield* RetryPolicy.make()
      const up = failing(hard("Overloaded"))
      const exit = yield* runToEnd(policy.retry(up.effect, { override: { factor: 0 } }))
      expect(up.calls).toEqual([])
      expect(Exit.isFailure(exit) && Cause.isDie(exit.cause)).toBe(true)
      const defect = Exit.isFailure(exit) ? Option.getOrUndefined(Cause.dieOption(exit.cause)) : undefined
      expect(defect).toBeInstanceOf(RetryPolicy.InvalidRetryOptions)
      expect((defect as RetryPolicy.InvalidRetryOptions).field).toBe("factor")
    }))

  it.effect("retry-after longer than the time left gives up at once with RetryAfterTooLong", () =>
    Effect.gen(function*() {
      const policy = yield* RetryPolicy.make({ maxElapsed: "60 seconds" })
      const up = failing(hard("RateLimited", "5 minutes"))
      const { hooks, recorded } = recorder<HardFailure>()
      const exit = yield* runToEnd(policy.retry(up.effect, hooks))
      expect(up.calls).toEqual([0])
      expect(failureOf(exit)).toBe(up.failures[0])
      expect(recorded.giveUps.map((g) => [g.reason, g.at])).toEqual([["RetryAfterTooLong", 0]])
    }))

  it.effect("a retry-after ending exactly at maxElapsed is still waited", () =>
    Effect.gen(function*() {
      const policy = yield* RetryPolicy.make({ maxElapsed: "60 seconds" })
      const up = failing(hard("RateLimited", "60 seconds"))
      expect(yield* runToEnd(policy.retry(up.effect))).toStrictEqual(Exit.succeed("ok"))
      expect(up.calls).toEqual([0, 60_000])
    }))

  it.effect("a backoff that would end after maxElapsed gives up at once with MaxElapsed", () =>
    Effect.gen(function*() {
      const policy = yield* RetryPolicy.make({ jitter: "none", maxAttempts: 10, maxElapsed: "5 seconds" })
      const up = alwaysFailing(hard("Overloaded"))
      const { hooks, recorded } = recorder<HardFailure>()
      yield* runToEnd(policy.retry(up.effect, hooks))
      // 1 s + 2 s = 3 s; the next 4 s would end at 7 s > 5 s
      expect(up.calls).toEqual([0, 1000, 3000])
      expect(recorded.giveUps.map((g) => [g.attempt, g.reason, g.at])).toEqual([[3, "MaxElapsed", 3000]])
    }))

  it.effect("a defect is not retried", () =>
    Effect.gen(function*() {
      const policy = yield* RetryPolicy.make()
      let calls = 0
      const exit = yield* runToEnd(policy.retry(Effect.suspend(() => (calls++, Effect.die("boom")))))
      expect(calls).toBe(1)
      expect(Exit.isFailure(exit) && Cause.isDie(exit.cause)).toBe(true)
    }))

  it.effect("the budget is shared by every call of the policy: 10 callers in an outage make 13 calls, not 40", () =>
    Effect.gen(function*() {
      const shared = yield* RetryPolicy.make({ jitter: "none" })
      const up = alwaysFailing(hard("Overloaded"))
      const { hooks, recorded } = recorder<HardFailure>()
      for (let i = 0; i < 10; i++) yield* runToEnd(shared.retry(up.effect, hooks))
      // caller 1: 4 failed attempts (tokens 10 → 9, 8, 7, 6), gives up at maxAttempts;
      // callers 2–10: one failed attempt each, tokens 5 (not > 10 / 2) → no retry
      expect(up.calls).toHaveLength(4 + 9)
      expect(recorded.giveUps.map((g) => g.reason)).toEqual(["MaxAttempts", ...Array(9).fill("BudgetExhausted")])
      expect(yield* shared.budget.tokens).toBe(0)

      const unlimited = yield* RetryPolicy.make({ jitter: "none", budget: RetryBudget.unlimited })
      const up2 = alwaysFailing(hard("Overloaded"))
      for (let i = 0; i < 10; i++) yield* runToEnd(unlimited.retry(up2.effect))
      expect(up2.calls).toHaveLength(40)
    }))

  it.effect("successes refill the budget; non-retryable failures do not drain it", () =>
    Effect.gen(function*() {
      const policy = yield* RetryPolicy.make({ budget: { maxTokens: 4, tokenRatio: 0.5 } })
      yield* runToEnd(policy.retry(alwaysFailing(hard("BadRequest")).effect))
      expect(yield* policy.budget.tokens).toBe(4)
      yield* runToEnd(policy.retry(failing(hard("Timeout")).effect)) // one failure, then success
      expect(yield* policy.budget.tokens).toBe(3.5)
    }))

  it.effect("layer provides the policy; a budget passed to make may be shared between policies", () =>
    Effect.gen(function*() {
      const policy = yield* RetryPolicy.RetryPolicy
      expect(policy.options.maxAttempts).toBe(2)
      const budget = yield* RetryBudget.make({ maxTokens: 3 })
      const a = yield* RetryPolicy.make({ budget })
      const b = yield* RetryPolicy.make({ budget })
      expect(a.budget).toBe(b.budget)
    }).pipe(Effect.provide(RetryPolicy.layer({ maxAttempts: 2 }))))

  it.effect("defaults: 1 s base, x2, full jitter, 30 s cap, 4 attempts, 120 s in all, no retry of truncated or invalid output", () =>
    Effect.sync(() => {
      const d = RetryPolicy.defaults
      expect([ms(d.base), d.factor, d.jitter, ms(d.maxDelay), d.maxAttempts, ms(d.maxElapsed)]).toEqual([
        1000,
        2,
        "full",
        30_000,
        4,
        120_000
      ])
      expect([d.retryTruncated, d.retryInvalidOutput]).toEqual([0, 0])
      expect(RetryPolicy.resolve()).toStrictEqual(Either.right(d))
    }))

  it.effect("ceiling is min(maxDelay, base · factor^n)", () =>
    Effect.sync(() => {
      expect([0, 1, 2, 3, 4, 5, 6, 50, 5000].map((n) => ms(RetryPolicy.ceiling(RetryPolicy.defaults, n)))).toEqual([
        1000,
        2000,
        4000,
        8000,
        16_000,
        30_000,
        30_000,
        30_000,
        30_000
      ])
    }))

  it.effect("delays with no jitter: 1 s, 2 s, 4 s and done (maxAttempts 4); capped at maxDelay", () =>
    Effect.gen(function*() {
      expect(yield* stepAll(RetryPolicy.delays({ jitter: "none" }))).toEqual([1000, 2000, 4000])
      expect(yield* stepAll(RetryPolicy.delays({ jitter: "none", base: "10 seconds", factor: 3, maxAttempts: 5 })))
        .toEqual([10_000, 30_000, 30_000, 30_000])
      // stops before the delay that would end after maxElapsed
      expect(yield* stepAll(RetryPolicy.delays({ jitter: "none", maxAttempts: 10, maxElapsed: "7 seconds" })))
        .toEqual([1000, 2000, 4000])
      // the schedule works with Effect.retry too
      const up = failing(hard("Overloaded"), hard("Overloaded"))
      const exit = yield* runToEnd(Effect.retry(up.effect, RetryPolicy.delays({ jitter: "none" })))
      expect(exit).toStrictEqual(Exit.succeed("ok"))
      expect(up.calls).toEqual([0, 1000, 3000])
    }))

  it.effect("the same seed gives the same jittered delays; full jitter does vary", () =>
    Effect.gen(function*() {
      const schedule = RetryPolicy.delays({ maxAttempts: 8, maxElapsed: Duration.infinity })
      const a = yield* Effect.withRandom(stepAll(schedule), Random.make(7))
      const b = yield* Effect.withRandom(stepAll(schedule), Random.make(7))
      const c = yield* Effect.withRandom(stepAll(schedule), Random.make(8))
      expect(a).toEqual(b)
      expect(a).not.toEqual(c)
      expect(a).toHaveLength(7)
    }))

  it.effect("invalid options fail make and layer with InvalidRetryOptions naming the field", () =>
    Effect.gen(function*() {
      const cases: ReadonlyArray<readonly [Parameters<typeof RetryPolicy.make>[0], string]> = [
        [{ base: 0 }, "base"],
        [{ base: -5 }, "base"],
        [{ base: NaN }, "base"],
        [{ base: Duration.infinity }, "base"],
        [{ base: "soon" as Duration.DurationInput }, "base"],
        [{ factor: 0.5 }, "factor"],
        [{ factor: NaN }, "factor"],
        [{ factor: Infinity }, "factor"],
        [{ jitter: "random" as "full" }, "jitter"],
        [{ maxDelay: 0 }, "maxDelay"],
        [{ maxAttempts: 0 }, "maxAttempts"],
        [{ maxAttempts: 2.5 }, "maxAttempts"],
        [{ maxAttempts: NaN }, "maxAttempts"],
        [{ maxElapsed: 0 }, "maxElapsed"],
        [{ retryTruncated: -1 }, "retryTruncated"],
        [{ retryInvalidOutput: 0.5 }, "retryInvalidOutput"],
        [{ budget: { maxTokens: 0 } }, "budget.maxTokens"],
        [{ budget: { tokenRatio: NaN } }, "budget.tokenRatio"]
      ]
      for (const [options, field] of cases) {
        const error = yield* Effect.flip(RetryPolicy.make(options))
        expect(error).toBeInstanceOf(RetryPolicy.InvalidRetryOptions)
        expect([error.field, error.message.startsWith(`${field}: `)]).toEqual([field, true])
      }
      const fromLayer = yield* Effect.flip(Effect.provide(RetryPolicy.RetryPolicy, RetryPolicy.layer({ factor: 0 })))
      expect(fromLayer.field).toBe("factor")
      // accepted: an infinite time budget, DurationInput strings and tuples
      const ok = yield* RetryPolicy.make({ maxElapsed: Duration.infinity, base: "1.5 seconds", maxDelay: [10, 0] })
      expect([ms(ok.options.base), ms(ok.options.maxDelay), ms(ok.options.maxElapsed)]).toEqual([1500, 10_000, Infinity])
      // a schedule from invalid options dies when stepped
      const died = yield* Effect.exit(stepAll(RetryPolicy.delays({ factor: 0 })))
      expect(Exit.isFailure(died) && Cause.isDie(died.cause)).toBe(true)
    }))
})

describe("RetryPolicy properties (TestClock, seeded Random)", () => {
  it.effect.prop(
    "every delay is in [0, maxDelay] and within the n-th bound; attempts ≤ maxAttempts; total sleep ≤ maxElapsed",
    [optionsArb, seedArb, retryableReasonArb],
    ([options, seed, reason]) =>
      Effect.gen(function*() {
        const policy = yield* RetryPolicy.make({ ...options, budget: RetryBudget.unlimited })
        const up = alwaysFailing(hard(reason))
        const { hooks, recorded } = recorder<HardFailure>()
        const exit = yield* runToEnd(policy.retry(up.effect, hooks))
        expect(failureOf(exit)).toBe(up.failures[up.failures.length - 1])

        expect(up.calls.length).toBeGreaterThanOrEqual(1)
        expect(up.calls.length).toBeLessThanOrEqual(options.maxAttempts)
        expect(up.calls[up.calls.length - 1]! - up.calls[0]!).toBeLessThanOrEqual(options.maxElapsed + EPS)
        expect(recorded.retries).toHaveLength(up.calls.length - 1)
        const gapList = gaps(up.calls)
        recorded.retries.forEach((retry, n) => {
          const delay = ms(retry.delay)
          expect(retry.attempt).toBe(n + 1)
          expect(delay).toBeGreaterThanOrEqual(0)
          expect(delay).toBeLessThanOrEqual(options.maxDelay + EPS)
          expect(delay).toBeLessThanOrEqual(upperBound(policy.options, n) + EPS)
          if (options.jitter === "none") expect(delay).toBeCloseTo(ms(RetryPolicy.ceiling(policy.options, n)), 5)
          if (options.jitter === "decorrelated") {
            expect(delay).toBeGreaterThanOrEqual(Math.min(options.base, options.maxDelay) - EPS)
          }
          expect(gapList[n]).toBeCloseTo(delay, 5) // the wait measured on the TestClock
        })
        const [giveUp] = recorded.giveUps
        expect(recorded.giveUps).toHaveLength(1)
        expect(giveUp!.attempt).toBe(up.calls.length)
        expect(giveUp!.at).toBe(up.calls[up.calls.length - 1]) // gave up without sleeping
        expect(["MaxAttempts", "MaxElapsed"]).toContain(giveUp!.reason)
        if (giveUp!.reason === "MaxAttempts") expect(up.calls).toHaveLength(options.maxAttempts)
      }).pipe(Effect.withRandom(Random.make(seed))),
    { fastCheck: { numRuns: 50 } }
  )

  it.prop(
    "the delays schedule: at most maxAttempts - 1 delays, each within its bound, summing to ≤ maxElapsed",
    [optionsArb, seedArb],
    ([options, seed]) => {
      // no clock involved: stepping the schedule only draws from the seeded Random
      const list = Effect.runSync(Effect.withRandom(stepAll(RetryPolicy.delays(options)), Random.make(seed)))
      const r = resolved(options)
      expect(list.length).toBeLessThanOrEqual(options.maxAttempts - 1)
      expect(list.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(options.maxElapsed + EPS)
      list.forEach((delay, n) => {
        expect(delay).toBeGreaterThanOrEqual(0)
        expect(delay).toBeLessThanOrEqual(upperBound(r, n) + EPS)
      })
    },
    { fastCheck: { numRuns: 200 } }
  )

  const notRetryableByDefault = Arbitrary.make(GenerationFailureSchema).filter((f) => !isRetryable(f))

  it.effect.prop(
    "a non-retryable failure (any reason outside the retryable set, any soft/silent by default) is never retried",
    [notRetryableByDefault, seedArb],
    ([failure, seed]) =>
      Effect.gen(function*() {
        const policy = yield* RetryPolicy.make({ budget: RetryBudget.unlimited })
        const up = alwaysFailing(failure)
        const { hooks, recorded } = recorder<GenerationFailure>()
        const exit = yield* runToEnd(policy.retry(up.effect, hooks))
        expect(up.calls).toEqual([0])
        expect(failureOf(exit)).toBe(failure)
        expect(recorded.retries).toEqual([])
        expect(recorded.giveUps.map((g) => [g.attempt, g.reason, g.at])).toEqual([[1, "NotRetryable", 0]])
      }).pipe(Effect.withRandom(Random.make(seed))),
    { fastCheck: { numRuns: 50 } }
  )

  it.effect.prop(
    "retry-after is honoured: the gap between attempts is ≥ retryAfter and ≥ the backoff",
    [fc.integer({ min: 0, max: 100_000 }), jitterArb, seedArb],
    ([retryAfter, jitter, seed]) =>
      Effect.gen(function*() {
        const policy = yield* RetryPolicy.make({ jitter, maxElapsed: "10 minutes" })
        const up = failing(hard("RateLimited", retryAfter), hard("Overloaded"))
        const { hooks, recorded } = recorder<HardFailure>()
        const exit = yield* runToEnd(policy.retry(up.effect, hooks))
        expect(exit).toStrictEqual(Exit.succeed("ok"))
        expect(up.calls).toHaveLength(3)
        const [first, second] = recorded.retries
        const [gap1, gap2] = gaps(up.calls)
        // the backoff the same seed draws, without retry-after
        const [backoff1, backoff2] = yield* Effect.withRandom(
          stepAll(RetryPolicy.delays({ jitter, maxElapsed: Duration.infinity })),
          Random.make(seed)
        )
        expect(gap1!).toBeGreaterThanOrEqual(retryAfter - EPS)
        expect(gap1!).toBeGreaterThanOrEqual(backoff1! - EPS)
        expect(gap1!).toBeCloseTo(Math.max(retryAfter, backoff1!), 5)
        expect(ms(first!.delay)).toBeCloseTo(gap1!, 5)
        expect(gap2!).toBeCloseTo(backoff2!, 5) // no retry-after this time: the plain backoff
        expect(ms(second!.delay)).toBeCloseTo(gap2!, 5)
        if (jitter === "none") expect([gap1, gap2]).toEqual([Math.max(1000, retryAfter), 2000])
      }).pipe(Effect.withRandom(Random.make(seed))),
    { fastCheck: { numRuns: 40 } }
  )

  it.effect.prop(
    "retry-after longer than the time left → gives up immediately with RetryAfterTooLong, no sleep",
    [
      fc.integer({ min: 1_000, max: 120_000 }),
      fc.integer({ min: 1, max: 100_000 }),
      fc.integer({ min: 0, max: 3 }),
      seedArb
    ],
    ([maxElapsed, excess, earlyFailures, seed]) =>
      Effect.gen(function*() {
        const policy = yield* RetryPolicy.make({
          jitter: "none",
          base: "1 millis",
          maxAttempts: 10,
          maxElapsed,
          budget: RetryBudget.unlimited
        })
        // a few quick failures (1, 2, 4 ms of backoff), then a retry-after
        // that would end `excess` ms after the deadline
        const elapsedBefore = 2 ** earlyFailures - 1
        const up = upstream((n) =>
          n < earlyFailures
            ? hard("Overloaded")
            : n === earlyFailures
            ? hard("RateLimited", maxElapsed - elapsedBefore + excess)
            : undefined
        )
        const { hooks, recorded } = recorder<HardFailure>()
        const exit = yield* runToEnd(policy.retry(up.effect, hooks))
        expect(up.calls).toHaveLength(earlyFailures + 1)
        expect(failureOf(exit)).toBe(up.failures[earlyFailures])
        expect(recorded.giveUps.map((g) => [g.reason, g.at])).toEqual([["RetryAfterTooLong", elapsedBefore]])
      }).pipe(Effect.withRandom(Random.make(seed))),
    { fastCheck: { numRuns: 40 } }
  )

  it.effect.prop(
    "under a sustained outage the budget bounds upstream calls to N + maxTokens / 2 (unlimited: N × maxAttempts)",
    [
      fc.integer({ min: 1, max: 6 }),
      fc.integer({ min: 1, max: 20 }),
      fc.integer({ min: 1, max: 5 }),
      fc.boolean(),
      jitterArb,
      seedArb
    ],
    ([callers, maxTokens, maxAttempts, concurrent, jitter, seed]) =>
      Effect.gen(function*() {
        const options = { jitter, maxAttempts, base: Duration.millis(10), maxElapsed: Duration.infinity }
        const run = (policy: RetryPolicy.RetryPolicyService) => {
          const up = alwaysFailing(hard("Overloaded"))
          return Effect.map(
            runToEnd(
              Effect.forEach(Array.from({ length: callers }), () => Effect.either(policy.retry(up.effect)), {
                concurrency: concurrent ? "unbounded" : 1
              })
            ),
            () => up.calls.length
          )
        }
        const budgeted = yield* run(yield* RetryPolicy.make({ ...options, budget: { maxTokens } }))
        const unlimited = yield* run(yield* RetryPolicy.make({ ...options, budget: RetryBudget.unlimited }))
        expect(budgeted).toBeGreaterThanOrEqual(callers)
        expect(budgeted).toBeLessThanOrEqual(callers + Math.ceil(maxTokens / 2) - 1)
        expect(budgeted).toBeLessThanOrEqual(unlimited)
        expect(unlimited).toBe(callers * maxAttempts)
      }).pipe(Effect.withRandom(Random.make(seed))),
    { fastCheck: { numRuns: 25 } }
  )
})
