import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Fiber, Layer, Ref, TestClock } from "effect"
import * as CircuitBreaker from "../src/CircuitBreaker.js"
import * as FallbackChain from "../src/FallbackChain.js"
import { HardFailure } from "../src/Failure.js"
import * as LoadControl from "../src/LoadControl.js"
import * as RetryPolicy from "../src/RetryPolicy.js"

// The overall deadline and the load-control gate, as the chain sees them:
// the deadline cuts a call short the same way wherever it is in the list,
// never counts against a model's breaker, and never starts a call with no
// time left; waiting at a model's gate is neither a time-out nor a failure.

const Policies = Layer.mergeAll(
  RetryPolicy.layer({ jitter: "none", base: "1 second", maxAttempts: 3, budget: { maxTokens: 1000 } }),
  CircuitBreaker.layer({ minimumCalls: 1, failureRateThreshold: 0.5 })
)

const overloaded = (model: string) =>
  new HardFailure({ reason: "Overloaded", provider: "p", model, status: 503, message: "busy" })

/** A model that answers after `ms` (TestClock), or fails with 503 after `ms`, counting calls. */
const timedModel = (model: string, ms: number, outcome: "ok" | "overloaded") =>
  Effect.map(Ref.make(0), (calls) => ({
    model,
    calls: Ref.get(calls),
    call: () =>
      Effect.zipRight(
        Effect.zipRight(Ref.update(calls, (n) => n + 1), Effect.sleep(Duration.millis(ms))),
        outcome === "ok" ? Effect.succeed(`${model} answered`) : Effect.fail(overloaded(model))
      )
  }))

const runFor = <A, E>(effect: Effect.Effect<A, E, CircuitBreaker.CircuitBreakers | RetryPolicy.RetryPolicy>, ms: number) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(Effect.either(effect))
    for (let t = 0; t < ms; t += 100) yield* TestClock.adjust("100 millis")
    return yield* Fiber.join(fiber)
  })

describe("FallbackChain deadline", () => {
  it.effect("an attempt cut off by the deadline is not a failure of the model: its breaker does not count it", () =>
    Effect.gen(function*() {
      const slow = yield* timedModel("slow", 60_000, "ok")
      const result = yield* runFor(FallbackChain.run([slow], { deadline: "10 seconds" }), 11_000)
      expect(result._tag === "Left" && result.left._tag).toBe("DeadlineExceeded")
      const breaker = yield* (yield* CircuitBreaker.CircuitBreakers).get("slow")
      const snapshot = yield* breaker.snapshot
      // minimumCalls 1, threshold 50 %: one counted failure would have opened it
      expect([snapshot.state, snapshot.failures]).toEqual(["closed", 0])
    }).pipe(Effect.provide(Policies)))

  it.effect("the deadline reached on the last model is DeadlineExceeded, as it is on the first", () =>
    Effect.gen(function*() {
      const first = yield* timedModel("first", 60_000, "ok")
      const onFirst = yield* runFor(FallbackChain.run([first, yield* timedModel("second", 1, "ok")], { deadline: "10 seconds" }), 11_000)
      const failing = yield* timedModel("failing", 1_000, "overloaded")
      const last = yield* timedModel("last", 60_000, "ok")
      const onLast = yield* runFor(FallbackChain.run([failing, last], { deadline: "10 seconds", retry: { maxAttempts: 1 } }), 11_000)
      expect(onFirst._tag === "Left" && onFirst.left._tag).toBe("DeadlineExceeded")
      expect(onLast._tag === "Left" && onLast.left._tag).toBe("DeadlineExceeded")
      expect(onLast._tag === "Left" && onLast.left._tag === "DeadlineExceeded" && onLast.left.attempts.map((a) => [a.model, a.reason])).toEqual([
        ["failing", "Overloaded"],
        ["last", "Deadline"]
      ])
    }).pipe(Effect.provide(Policies)))

  it.effect("a retry whose wait would end exactly at the deadline is not made", () =>
    Effect.gen(function*() {
      // fails after 1 s; the retry would wait 1 s and start at 2 s = the deadline, with nothing left
      const model = yield* timedModel("only", 1_000, "overloaded")
      const result = yield* runFor(FallbackChain.run([model], { deadline: "2 seconds" }), 3_000)
      expect(yield* model.calls).toBe(1)
      expect(result._tag === "Left" && result.left._tag).toBe("DeadlineExceeded")
    }).pipe(Effect.provide(Policies)))

  it.effect("a slow admit check that eats the deadline ends in DeadlineExceeded, not a defect", () =>
    Effect.gen(function*() {
      const a = yield* timedModel("a", 1, "ok")
      const b = yield* timedModel("b", 1, "ok")
      const result = yield* runFor(
        FallbackChain.run([a, b], { deadline: "1 second", admit: () => Effect.as(Effect.sleep("1 second"), true) }),
        2_000
      )
      expect(result._tag === "Left" && result.left._tag).toBe("DeadlineExceeded")
      expect(yield* a.calls).toBe(0)
    }).pipe(Effect.provide(Policies)))

  it.effect("every model failing in time is AllModelsFailed even with a deadline set", () =>
    Effect.gen(function*() {
      const a = yield* timedModel("a", 100, "overloaded")
      const b = yield* timedModel("b", 100, "overloaded")
      const result = yield* runFor(FallbackChain.run([a, b], { deadline: "1 minute", retry: { maxAttempts: 1 } }), 1_000)
      expect(result._tag === "Left" && result.left._tag).toBe("AllModelsFailed")
    }).pipe(Effect.provide(Policies)))
})

describe("FallbackChain last resort", () => {
  const openAll = (models: ReadonlyArray<string>) =>
    Effect.gen(function*() {
      const breakers = yield* CircuitBreaker.CircuitBreakers
      for (const model of models) {
        const breaker = yield* breakers.get(model)
        yield* Effect.either(breaker.withBreaker(Effect.fail(overloaded(model))))
        expect(yield* breaker.state).toBe("open")
      }
    })

  it.effect("every breaker open: one trial of the model that reopens first instead of certain failure", () =>
    Effect.gen(function*() {
      const first = yield* timedModel("first", 10, "ok")
      const second = yield* timedModel("second", 10, "ok")
      yield* openAll(["second"])
      yield* TestClock.adjust("1 minute")
      yield* openAll(["first"]) // opened later: reopens later
      yield* TestClock.adjust("10 seconds")
      const served = yield* runFor(FallbackChain.run([first, second]), 1_000)
      expect(served._tag === "Right" && [served.right.model, served.right.attempts.map((a) => [a.model, a.outcome, a.reason])]).toEqual([
        "second",
        [["first", "skipped", "CircuitOpen"], ["second", "skipped", "CircuitOpen"], ["second", "success", undefined]]
      ])
      expect([yield* first.calls, yield* second.calls]).toEqual([0, 1])
    }).pipe(Effect.provide(Policies)))

  it.effect("a model the failback ramp held back takes the call when every other model failed", () =>
    Effect.gen(function*() {
      const ramping = yield* timedModel("ramping", 10, "ok")
      const last = yield* timedModel("last", 10, "overloaded")
      const served = yield* runFor(FallbackChain.run([ramping, last], { admit: () => Effect.succeed(false), retry: { maxAttempts: 1 } }), 1_000)
      expect(served._tag === "Right" && [served.right.model, served.right.attempts.map((a) => [a.model, a.outcome, a.reason])]).toEqual([
        "ramping",
        [["ramping", "skipped", "Ramp"], ["last", "failure", "Overloaded"], ["ramping", "success", undefined]]
      ])
    }).pipe(Effect.provide(Policies)))

  it.effect("with lastResort: false, or within the breaker's last-resort interval, every breaker open fails at once", () =>
    Effect.gen(function*() {
      const a = yield* timedModel("a", 10, "overloaded")
      yield* openAll(["a"])
      yield* TestClock.adjust("10 seconds")
      const off = yield* runFor(FallbackChain.run([a], { lastResort: false }), 100)
      expect(off._tag === "Left" && off.left._tag).toBe("AllModelsFailed")
      expect(yield* a.calls).toBe(0)
      const tried = yield* runFor(FallbackChain.run([a]), 100) // the trial: a fails again
      const again = yield* runFor(FallbackChain.run([a]), 100) // within 10 s of it: no call
      expect([tried._tag === "Left" && tried.left._tag, again._tag === "Left" && again.left._tag]).toEqual(["AllModelsFailed", "AllModelsFailed"])
      expect(yield* a.calls).toBe(1)
    }).pipe(Effect.provide(Policies)))
})

describe("FallbackChain gate", () => {
  it.scoped("time queued at a model's load control is outside its attempt time-out and its breaker", () =>
    Effect.gen(function*() {
      const gate = yield* LoadControl.make({ concurrency: 1, requestsPerMinute: 1000 })
      // one slot, three callers, 30 s each: the third waits 60 s, over the 45 s attempt time-out
      const model = yield* timedModel("m", 30_000, "ok")
      const chained = { ...model, gate: gate.run }
      const fibers = yield* Effect.forEach([1, 2, 3], () =>
        Effect.fork(Effect.either(FallbackChain.run([chained], { attemptTimeout: "45 seconds", retry: { maxAttempts: 1 } }))))
      for (let t = 0; t < 61; t++) yield* TestClock.adjust("1 second")
      // the gate held them: one at a time
      expect(fibers.map((f) => f.unsafePoll() !== null)).toEqual([true, true, false])
      for (let t = 0; t < 34; t++) yield* TestClock.adjust("1 second")
      const results = yield* Effect.forEach(fibers, Fiber.join)
      expect(results.map((r) => r._tag)).toEqual(["Right", "Right", "Right"])
      const breaker = yield* (yield* CircuitBreaker.CircuitBreakers).get("m")
      expect((yield* breaker.snapshot).failures).toBe(0)
    }).pipe(Effect.provide(Policies)))
})
