import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Fiber, Layer, Ref, TestClock } from "effect"
import * as CircuitBreaker from "../src/CircuitBreaker.js"
import * as FallbackChain from "../src/FallbackChain.js"
import { HardFailure, type HardReason, SoftFailure } from "../src/Failure.js"
import * as RetryPolicy from "../src/RetryPolicy.js"
import { settle } from "./support/clock.js"

type Step = "ok" | "hang" | HardReason | { readonly reason: HardReason; readonly retryAfter: Duration.DurationInput } | "Filtered"

/** A model whose n-th call does `steps[n]` (the last step repeats), counting calls. */
const scriptedModel = (model: string, steps: ReadonlyArray<Step>, price?: number) =>
  Effect.gen(function*() {
    const calls = yield* Ref.make(0)
    const call = () =>
      Effect.gen(function*() {
        const n = yield* Ref.getAndUpdate(calls, (c) => c + 1)
        const step = steps[Math.min(n, steps.length - 1)]!
        if (step === "ok") return `${model}#${n + 1}`
        if (step === "hang") return yield* Effect.never
        if (step === "Filtered") {
          return yield* Effect.fail(new SoftFailure({ reason: "ContentFiltered", provider: "p", model, status: 200, message: "blocked" }))
        }
        const { reason, retryAfter } = typeof step === "string" ? { reason: step, retryAfter: undefined } : step
        return yield* Effect.fail(new HardFailure({
          reason,
          provider: "p",
          model,
          status: reason === "Overloaded" ? 503 : reason === "BadRequest" ? 400 : reason === "RateLimited" ? 429 : 500,
          message: `${reason} from ${model}`,
          ...(retryAfter === undefined ? {} : { retryAfter: Duration.decode(retryAfter) })
        }))
      })
    return { model, call, calls: Ref.get(calls), ...(price === undefined ? {} : { price }) }
  })

// Policies: the default breaker; retries from a 1 s base, 3 attempts, a budget that never binds, no jitter so delays are exact under TestClock.
const Policies = Layer.mergeAll(
  RetryPolicy.layer({ jitter: "none", base: "1 second", maxAttempts: 3, budget: { maxTokens: 1000 } }),
  CircuitBreaker.layer()
)


describe("FallbackChain", () => {
  it.effect("primary overloaded → served by the next model, with the attempt log", () =>
    Effect.gen(function*() {
      const primary = yield* scriptedModel("gemini-3-pro-image-preview", ["Overloaded"])
      const sibling = yield* scriptedModel("gemini-2.5-flash-image", ["ok"], 0.039)
      const served = yield* settle(FallbackChain.run([primary, sibling]))
      expect(served.model).toBe("gemini-2.5-flash-image")
      expect([served.rank, served.fellBack, served.cost]).toEqual([1, true, 0.039])
      expect(yield* primary.calls).toBe(3) // the primary's own retries first
      expect(served.attempts.map((a) => [a.model, a.attempt, a.outcome, a.reason])).toEqual([
        ["gemini-3-pro-image-preview", 1, "failure", "Overloaded"],
        ["gemini-3-pro-image-preview", 2, "failure", "Overloaded"],
        ["gemini-3-pro-image-preview", 3, "failure", "Overloaded"],
        ["gemini-2.5-flash-image", 1, "success", undefined]
      ])
    }).pipe(Effect.provide(Policies)))

  it.effect("the breaker opens after the threshold and the primary is then skipped without a call", () =>
    Effect.gen(function*() {
      const primary = yield* scriptedModel("primary", ["Overloaded"])
      const backup = yield* scriptedModel("backup", ["ok"])
      // 5 upstream failures (>= 5 calls, 100 % > 30 %) open the primary's breaker
      yield* settle(FallbackChain.run([primary, backup], { retry: { maxAttempts: 1 } }).pipe(Effect.repeatN(4)))
      expect(yield* primary.calls).toBe(5)
      const breakers = yield* CircuitBreaker.CircuitBreakers
      expect(yield* (yield* breakers.get("primary")).state).toBe("open")
      const served = yield* settle(FallbackChain.run([primary, backup]))
      expect(served.model).toBe("backup")
      expect(yield* primary.calls).toBe(5) // skipped: not called again
      expect(served.attempts[0]).toMatchObject({ model: "primary", outcome: "skipped", reason: "CircuitOpen" })
    }).pipe(Effect.provide(Policies)))

  it.effect("after the open time a half-open probe succeeds and traffic returns to the primary", () =>
    Effect.gen(function*() {
      const primary = yield* scriptedModel("primary", ["Overloaded", "Overloaded", "Overloaded", "Overloaded", "Overloaded", "ok"])
      const backup = yield* scriptedModel("backup", ["ok"])
      yield* settle(FallbackChain.run([primary, backup], { retry: { maxAttempts: 1 } }).pipe(Effect.repeatN(4)))
      const breaker = yield* (yield* CircuitBreaker.CircuitBreakers).get("primary")
      expect(yield* breaker.state).toBe("open")
      yield* TestClock.adjust("300 seconds") // the breaker's default open time
      const served = yield* settle(FallbackChain.run([primary, backup]))
      expect([served.model, served.fellBack]).toEqual(["primary", false])
      expect(yield* breaker.state).toBe("closed")
    }).pipe(Effect.provide(Policies)))

  it.effect("a breaker that opens during a call's own retries stops them, and the rejection is in the log", () =>
    Effect.gen(function*() {
      const primary = yield* scriptedModel("primary", ["Overloaded"])
      const backup = yield* scriptedModel("backup", ["ok"])
      const Tight = Layer.mergeAll(
        RetryPolicy.layer({ jitter: "none", base: "1 second", maxAttempts: 4, budget: { maxTokens: 1000 } }),
        CircuitBreaker.layer({ consecutiveFailures: 2, minimumCalls: 100 })
      )
      const served = yield* settle(FallbackChain.run([primary, backup])).pipe(Effect.provide(Tight))
      expect(served.model).toBe("backup")
      expect(yield* primary.calls).toBe(2) // the third attempt never reached the model
      expect(served.attempts.map((a) => [a.model, a.attempt, a.outcome, a.reason])).toEqual([
        ["primary", 1, "failure", "Overloaded"],
        ["primary", 2, "failure", "Overloaded"],
        ["primary", 3, "skipped", "CircuitOpen"],
        ["backup", 1, "success", undefined]
      ])
    }))

  it.effect("graceful degradation: when every model is down the stand-in is served, marked degraded, with the attempt log", () =>
    Effect.gen(function*() {
      const primary = yield* scriptedModel("primary", ["Overloaded"])
      const backup = yield* scriptedModel("backup", ["ServerError"])
      const served = yield* settle(
        FallbackChain.run([primary, backup], { retry: { maxAttempts: 1 } }).pipe(FallbackChain.orDegrade(() => Effect.succeed("placeholder.png")))
      )
      expect([served.value, served.degraded, served.model, served.rank]).toEqual(["placeholder.png", true, "degraded", -1])
      expect(served.attempts.map((a) => [a.model, a.reason])).toEqual([["primary", "Overloaded"], ["backup", "ServerError"]])
    }).pipe(Effect.provide(Policies)))

  it.effect("graceful degradation does not hide a request the provider refused (400)", () =>
    Effect.gen(function*() {
      const primary = yield* scriptedModel("primary", ["BadRequest"])
      const failure = yield* Effect.flip(settle(
        FallbackChain.run([primary]).pipe(FallbackChain.orDegrade(() => Effect.succeed("placeholder.png")))
      ))
      expect(failure._tag === "HardFailure" && failure.reason).toBe("BadRequest")
    }).pipe(Effect.provide(Policies)))

  it.effect("onAttempt hears every line of the attempt log as it is written", () =>
    Effect.gen(function*() {
      const primary = yield* scriptedModel("primary", ["Overloaded", "ok"])
      const heard: Array<string> = []
      const served = yield* settle(FallbackChain.run([primary], {
        onAttempt: (r) => Effect.sync(() => { heard.push(`${r.model}#${r.attempt} ${r.outcome}${r.reason === undefined ? "" : ` ${r.reason}`}`) })
      }))
      expect(heard).toEqual(["primary#1 failure Overloaded", "primary#2 success"])
      expect(served.attempts).toHaveLength(2)
    }).pipe(Effect.provide(Policies)))

  it.effect("a model its ramp does not admit is skipped without a call; the last model is always tried", () =>
    Effect.gen(function*() {
      const primary = yield* scriptedModel("primary", ["ok"])
      const backup = yield* scriptedModel("backup", ["ok"])
      const served = yield* settle(FallbackChain.run([primary, backup], { admit: (m) => Effect.succeed(m !== "primary") }))
      expect(served.model).toBe("backup")
      expect(yield* primary.calls).toBe(0)
      expect(served.attempts[0]).toMatchObject({ model: "primary", outcome: "skipped", reason: "Ramp" })
      const only = yield* settle(FallbackChain.run([primary], { admit: () => Effect.succeed(false) }))
      expect(only.model).toBe("primary")
    }).pipe(Effect.provide(Policies)))

  it.effect("a 400 is neither retried nor fallen over", () =>
    Effect.gen(function*() {
      const primary = yield* scriptedModel("primary", ["BadRequest"])
      const backup = yield* scriptedModel("backup", ["ok"])
      const failure = yield* Effect.flip(settle(FallbackChain.run([primary, backup])))
      expect(failure._tag).toBe("HardFailure")
      expect(failure._tag === "HardFailure" && failure.reason).toBe("BadRequest")
      expect([yield* primary.calls, yield* backup.calls]).toEqual([1, 0])
    }).pipe(Effect.provide(Policies)))

  it.effect("a content filter moves on only when the caller opts in", () =>
    Effect.gen(function*() {
      const primary = yield* scriptedModel("primary", ["Filtered"])
      const backup = yield* scriptedModel("backup", ["ok"])
      const stopped = yield* Effect.flip(settle(FallbackChain.run([primary, backup])))
      expect(stopped._tag).toBe("SoftFailure")
      const served = yield* settle(FallbackChain.run([primary, backup], { contentFiltered: true }))
      expect(served.model).toBe("backup")
    }).pipe(Effect.provide(Policies)))

  it.effect("a retry-after is honoured before retrying the same model", () =>
    Effect.gen(function*() {
      const primary = yield* scriptedModel("primary", [{ reason: "RateLimited", retryAfter: "20 seconds" }, "ok"])
      const fiber = yield* Effect.fork(FallbackChain.run([primary]))
      yield* TestClock.adjust("19 seconds")
      expect(yield* primary.calls).toBe(1)
      yield* TestClock.adjust("1 second")
      const served = yield* Fiber.join(fiber)
      expect([served.model, yield* primary.calls]).toEqual(["primary", 2])
    }).pipe(Effect.provide(Policies)))

  it.effect("the deadline is respected: a fallback that cannot finish in time is not started", () =>
    Effect.gen(function*() {
      const primary = yield* scriptedModel("primary", ["hang"])
      const backup = yield* scriptedModel("backup", ["ok"])
      const fiber = yield* Effect.fork(Effect.flip(FallbackChain.run([primary, backup], { deadline: "30 seconds" })))
      yield* TestClock.adjust("30 seconds")
      const failure = yield* Fiber.join(fiber)
      expect(failure._tag).toBe("DeadlineExceeded")
      expect(yield* backup.calls).toBe(0)
      // the primary's attempt in flight is cut off by the deadline; the backup never starts
      expect(failure._tag === "DeadlineExceeded" && failure.attempts.map((a) => [a.model, a.outcome, a.reason])).toEqual([
        ["primary", "failure", "Deadline"]
      ])
    }).pipe(Effect.provide(Policies)))

  it.effect("every model failing gives one AllModelsFailed holding every attempt", () =>
    Effect.gen(function*() {
      const a = yield* scriptedModel("a", ["Overloaded"])
      const b = yield* scriptedModel("b", ["QuotaExhausted"])
      const failure = yield* Effect.flip(settle(FallbackChain.run([a, b])))
      expect(failure._tag).toBe("AllModelsFailed")
      if (failure._tag !== "AllModelsFailed") return
      expect(failure.message).toBe("all 2 models failed: a (Overloaded), b (QuotaExhausted)")
      expect(failure.attempts.map((x) => [x.model, x.reason])).toEqual([
        ["a", "Overloaded"], ["a", "Overloaded"], ["a", "Overloaded"], ["b", "QuotaExhausted"]
      ])
      expect(failure.retryAfter).toBeUndefined() // no breaker open, no provider said when
    }).pipe(Effect.provide(Policies)))

  it.effect("every model's breaker open: AllModelsFailed says to come back at the earliest re-open; a failed last-resort trial pushes its model's back", () =>
    Effect.gen(function*() {
      const breakers = yield* CircuitBreaker.CircuitBreakers
      const trip = (model: string) =>
        Effect.flatMap(breakers.get(model), (breaker) =>
          Effect.repeatN(Effect.either(breaker.withBreaker(Effect.fail(new HardFailure({ reason: "Overloaded", provider: "p", model, message: "busy" })))), 4))
      yield* trip("a") // open until 300 s
      yield* TestClock.adjust("100 seconds")
      yield* trip("b") // open until 400 s
      yield* TestClock.adjust("50 seconds")
      const a = yield* scriptedModel("a", ["Overloaded"])
      const b = yield* scriptedModel("b", ["Overloaded"])

      const skipped = yield* Effect.flip(FallbackChain.run([b, a], { lastResort: false }))
      expect(skipped._tag).toBe("AllModelsFailed")
      if (skipped._tag !== "AllModelsFailed") return
      expect(skipped.attempts.map((x) => [x.model, x.outcome, x.reason])).toEqual([["b", "skipped", "CircuitOpen"], ["a", "skipped", "CircuitOpen"]])
      expect(skipped.retryAfter).toEqual(Duration.seconds(150)) // a's breaker, at 300 s; now is 150 s

      // the last-resort trial goes to a (it re-opens first), fails, and re-opens it for 600 s: b's is now the earliest
      const tried = yield* Effect.flip(FallbackChain.run([b, a]))
      if (tried._tag !== "AllModelsFailed") return expect.fail(tried.message)
      expect(yield* a.calls).toBe(1)
      expect(tried.retryAfter).toEqual(Duration.seconds(250))
    }).pipe(Effect.provide(Policies)))

  it.effect("a provider's asked-for wait is reported from the moment the chain gives up; one a retry already waited out is not", () =>
    Effect.gen(function*() {
      // a: 429s asking for 7 s, at 0, 7 and 14 s (each retry waits the 7 s); b: 503s without a hint at 14, 15 and 17 s
      const a = yield* scriptedModel("a", [{ reason: "RateLimited", retryAfter: "7 seconds" }])
      const b = yield* scriptedModel("b", ["Overloaded"])
      const failure = yield* Effect.flip(settle(FallbackChain.run([a, b])))
      if (failure._tag !== "AllModelsFailed") return expect.fail(failure.message)
      expect(yield* TestClock.currentTimeMillis).toBe(17_000)
      expect(failure.retryAfter).toEqual(Duration.seconds(4)) // the last 429 asked until 21 s
    }).pipe(Effect.provide(Policies)))
})
