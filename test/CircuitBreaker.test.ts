import { describe, expect, it } from "@effect/vitest"
import { Chunk, Deferred, Duration, Effect, Either, Fiber, Option, Ref, type Scope, Stream, TestClock } from "effect"
import { headNow } from "./support/clock.js"
import * as CircuitBreaker from "../src/CircuitBreaker.js"
import { HardFailure, type HardReason, SilentFailure } from "../src/Failure.js"
import * as Window from "../src/internal/circuitBreaker/window.js"

const hard = (reason: HardReason) =>
  new HardFailure({ reason, provider: "test", model: "m", message: reason })

const overloaded = hard("Overloaded")

/** One call through the breaker that fails with `error`; the outcome is ignored. */
const failWith = (breaker: CircuitBreaker.CircuitBreaker, error: unknown = overloaded) =>
  Effect.either(breaker.withBreaker(Effect.fail(error)))
const fail = (breaker: CircuitBreaker.CircuitBreaker, times = 1) =>
  Effect.repeatN(failWith(breaker), times - 1)
const succeed = (breaker: CircuitBreaker.CircuitBreaker, times = 1) =>
  Effect.repeatN(breaker.withBreaker(Effect.succeed("ok")), times - 1)

/** Open a breaker with default options at the current time (5 failures). */
const opened = (model = "m", options?: CircuitBreaker.CircuitBreakerOptions) =>
  Effect.gen(function*() {
    const breaker = yield* CircuitBreaker.make(model, options)
    yield* fail(breaker, 5)
    expect(yield* breaker.state).toBe("open")
    return breaker
  })

/** Collect the next `n` transitions of `changes`, subscribed before this returns. */
const collect = (changes: Effect.Effect<Stream.Stream<CircuitBreaker.Transition>, never, Scope.Scope>, n: number) =>
  Effect.gen(function*() {
    const transitions = yield* changes
    const fiber = yield* Effect.fork(Stream.runCollect(Stream.take(transitions, n)))
    return Effect.map(Fiber.join(fiber), Chunk.toReadonlyArray)
  })


describe("CircuitBreaker", () => {
  it("defaults: 60 s window in 12 buckets, >= 5 calls, 30 % failures or 5 in a row, 300 s open (x2 after a failed trial, up to 10 min), 1 trial", () => {
    const d = CircuitBreaker.defaults
    expect(Duration.toSeconds(d.window)).toBe(60)
    expect([d.buckets, d.minimumCalls, d.failureRateThreshold, d.consecutiveFailures]).toEqual([12, 5, 0.3, 5])
    expect(Duration.toSeconds(d.openDuration)).toBe(300)
    expect([d.openBackoffFactor, Duration.toMinutes(d.maxOpenDuration), d.halfOpenProbes]).toEqual([2, 10, 1])
  })

  it("counts only overload-like hard failures by default", () => {
    const counted = (["Overloaded", "ServerError", "Timeout", "Network", "RateLimited"] as const).map(hard)
    const ignored = (["BadRequest", "Unauthorized", "ContentFiltered"] as const).map(hard)
    const invalid = new SilentFailure({
      reason: "InvalidOutput",
      provider: "test",
      model: "m",
      message: "not a label",
      validator: "oneOf",
      output: "maybe"
    })
    expect(counted.map(CircuitBreaker.defaults.isFailure)).toEqual([true, true, true, true, true])
    expect([...ignored, invalid, new Error("boom"), "x"].map(CircuitBreaker.defaults.isFailure)).toEqual([
      false,
      false,
      false,
      false,
      false,
      false
    ])
  })

  describe("closed", () => {
    it.effect("stays closed below minimumCalls even at 100 % failure", () =>
      Effect.gen(function*() {
        const breaker = yield* CircuitBreaker.make("m")
        yield* fail(breaker, 4)
        expect(yield* breaker.snapshot).toMatchObject({ state: "closed", calls: 4, failures: 4, failureRate: 1 })
      }))

    it.effect("opens once the failure rate reaches 30 % over at least 5 calls", () =>
      Effect.gen(function*() {
        const breaker = yield* CircuitBreaker.make("m")
        yield* succeed(breaker, 7)
        yield* fail(breaker, 2) // 2 of 9: 22 %
        expect(yield* breaker.state).toBe("closed")
        yield* fail(breaker) // 3 of 10: 30 %
        expect(yield* breaker.snapshot).toMatchObject({
          state: "open",
          calls: 10,
          failures: 3,
          openUntil: 300_000,
          opened: 1
        })
      }))

    it.scoped("reports why it opened: the failure rate over the window", () =>
      Effect.gen(function*() {
        const breaker = yield* CircuitBreaker.make("m")
        const next = yield* collect(breaker.changes, 1)
        yield* succeed(breaker, 3)
        yield* fail(breaker, 2)
        expect(yield* next).toEqual([
          { model: "m", from: "closed", to: "open", at: 0, reason: "failure rate 40% >= 30% over 5 calls" }
        ])
      }))

    it.scoped("opens on 5 consecutive failures even when the window never holds 5 calls", () =>
      Effect.gen(function*() {
        const breaker = yield* CircuitBreaker.make("video")
        const next = yield* collect(breaker.changes, 1)
        for (let i = 0; i < 4; i++) {
          yield* fail(breaker)
          yield* TestClock.adjust("40 seconds") // a video model: one call every 40 s
        }
        // the window (60 s) holds only the call of 40 s ago: the failure rate is never judged
        expect(yield* breaker.snapshot).toMatchObject({ state: "closed", calls: 1, consecutiveFailures: 4 })
        yield* fail(breaker)
        expect(yield* breaker.state).toBe("open")
        expect((yield* next)[0]?.reason).toBe("5 consecutive failures")
      }))

    it.effect("a success resets the consecutive-failure count", () =>
      Effect.gen(function*() {
        const breaker = yield* CircuitBreaker.make("video", { minimumCalls: 100 })
        yield* fail(breaker, 4)
        yield* succeed(breaker)
        yield* fail(breaker, 4)
        expect(yield* breaker.snapshot).toMatchObject({ state: "closed", consecutiveFailures: 4 })
      }))

    it.effect("old failures slide out of the window and no longer count", () =>
      Effect.gen(function*() {
        const breaker = yield* CircuitBreaker.make("m")
        yield* fail(breaker, 4)
        yield* TestClock.adjust("61 seconds")
        expect(yield* breaker.snapshot).toMatchObject({ calls: 0, failures: 0 })
        yield* succeed(breaker, 4)
        yield* fail(breaker) // 1 of 5 (20 %); with the old failures it would be 5 of 9
        expect(yield* breaker.snapshot).toMatchObject({ state: "closed", calls: 5, failures: 1 })
      }))

    it.effect("errors that are not counted (BadRequest) never trip it and are recorded as successes", () =>
      Effect.gen(function*() {
        const breaker = yield* CircuitBreaker.make("m")
        for (const reason of ["BadRequest", "Unauthorized", "ContentFiltered"] as const) {
          yield* failWith(breaker, hard(reason))
        }
        yield* Effect.repeatN(failWith(breaker, hard("BadRequest")), 9)
        expect(yield* breaker.snapshot).toMatchObject({ state: "closed", calls: 13, failures: 0 })
        yield* fail(breaker, 4)
        yield* failWith(breaker, hard("BadRequest")) // the model answered: breaks the run of failures
        expect((yield* breaker.snapshot).consecutiveFailures).toBe(0)
      }))

    it.effect("the error still reaches the caller unchanged", () =>
      Effect.gen(function*() {
        const breaker = yield* CircuitBreaker.make("m")
        const bad = hard("BadRequest")
        expect(yield* Effect.flip(breaker.withBreaker(Effect.fail(bad)))).toBe(bad)
        expect(yield* breaker.withBreaker(Effect.succeed(42))).toBe(42)
      }))

    it.effect("a custom isFailure decides what counts", () =>
      Effect.gen(function*() {
        const breaker = yield* CircuitBreaker.make("m", { isFailure: (e) => e === "boom" })
        yield* Effect.repeatN(failWith(breaker, overloaded), 9) // not counted by this predicate
        expect(yield* breaker.snapshot).toMatchObject({ state: "closed", calls: 10, failures: 0 })
        yield* Effect.repeatN(failWith(breaker, "boom"), 4)
        expect(yield* breaker.snapshot).toMatchObject({ state: "open", calls: 15, failures: 5 })
      }))

    it.effect("an isFailure that throws is treated as not counted", () =>
      Effect.gen(function*() {
        const breaker = yield* CircuitBreaker.make("m", {
          isFailure: () => {
            throw new Error("bug")
          }
        })
        expect(yield* Effect.flip(breaker.withBreaker(Effect.fail("x")))).toBe("x")
        expect(yield* breaker.snapshot).toMatchObject({ calls: 1, failures: 0 })
      }))

    it.effect("an interrupted call is not recorded", () =>
      Effect.gen(function*() {
        const breaker = yield* CircuitBreaker.make("m")
        const fiber = yield* Effect.fork(breaker.withBreaker(Effect.never))
        yield* TestClock.adjust(0)
        yield* Fiber.interrupt(fiber)
        expect((yield* breaker.snapshot).calls).toBe(0)
      }))
  })

  describe("open", () => {
    it.effect("rejects with CircuitOpen saying when to try again, without running the effect", () =>
      Effect.gen(function*() {
        const breaker = yield* opened("gemini-3-pro-image-preview")
        const runs = yield* Ref.make(0)
        yield* Effect.either(breaker.withBreaker(Ref.update(runs, (n) => n + 1)))
        expect((yield* breaker.snapshot).calls).toBe(5) // a rejection is not a call
        yield* TestClock.adjust("70 seconds")
        const error = yield* Effect.flip(breaker.withBreaker(Ref.update(runs, (n) => n + 1)))
        expect(error).toBeInstanceOf(CircuitBreaker.CircuitOpen)
        expect(error).toMatchObject({ _tag: "CircuitOpen", model: "gemini-3-pro-image-preview", state: "open", retryAt: 300_000 })
        expect(Duration.toMillis(error.retryAfter)).toBe(230_000)
        expect(error.message).toBe(
          "circuit for gemini-3-pro-image-preview is open until 1970-01-01T00:05:00.000Z (3m 50s)"
        )
        expect(yield* Ref.get(runs)).toBe(0)
      }))

    it.effect("is half-open once openDuration has elapsed (read from the clock, no call needed)", () =>
      Effect.gen(function*() {
        const breaker = yield* opened()
        yield* TestClock.adjust(Duration.millis(299_999))
        expect(yield* breaker.state).toBe("open")
        yield* TestClock.adjust(Duration.millis(1))
        expect(yield* breaker.snapshot).toMatchObject({ state: "half-open", openUntil: undefined })
      }))

    it.scoped("the move to half-open is published lazily, on the first call after the open time", () =>
      Effect.gen(function*() {
        const breaker = yield* opened()
        const next = yield* collect(breaker.changes, 2)
        yield* TestClock.adjust("400 seconds")
        expect(yield* breaker.state).toBe("half-open")
        yield* succeed(breaker)
        expect(yield* next).toEqual([
          { model: "m", from: "open", to: "half-open", at: 400_000, reason: "open time elapsed" },
          { model: "m", from: "half-open", to: "closed", at: 400_000, reason: "probe succeeded" }
        ])
      }))
  })

  describe("half-open", () => {
    it.effect("a successful probe closes it with empty counts", () =>
      Effect.gen(function*() {
        const breaker = yield* opened()
        yield* TestClock.adjust("300 seconds")
        expect(yield* breaker.withBreaker(Effect.succeed("probe"))).toBe("probe")
        expect(yield* breaker.snapshot).toEqual({
          model: "m",
          state: "closed",
          calls: 0,
          failures: 0,
          failureRate: 0,
          consecutiveFailures: 0,
          openUntil: undefined,
          opened: 1
        })
        yield* fail(breaker, 4) // a fresh start: 4 failures are not enough
        expect(yield* breaker.state).toBe("closed")
      }))

    it.effect("a failed probe re-opens it for twice as long, capped at maxOpenDuration, reset after closing", () =>
      Effect.gen(function*() {
        const breaker = yield* opened("m", { maxOpenDuration: "30 minutes" }) // t = 0, open 300 s
        const openTimes: Array<number> = []
        for (let i = 0; i < 5; i++) {
          const until = (yield* breaker.snapshot).openUntil ?? 0
          yield* TestClock.setTime(until)
          yield* fail(breaker) // the probe fails
          const now = until
          openTimes.push(((yield* breaker.snapshot).openUntil ?? 0) - now)
        }
        // 300 s × 2, × 4, × 8 = 2400 s capped at 30 min, …
        expect(openTimes).toEqual([600_000, 1_200_000, 1_800_000, 1_800_000, 1_800_000])
        expect((yield* breaker.snapshot).opened).toBe(6)
        yield* TestClock.adjust("30 minutes")
        yield* succeed(breaker) // closes; the backoff starts over
        yield* fail(breaker, 5)
        const snapshot = yield* breaker.snapshot
        expect(snapshot.state).toBe("open")
        expect(snapshot.openUntil! - (yield* TestClock.currentTimeMillis)).toBe(300_000)
      }))

    it.effect("admits one probe by default and rejects others while it is in flight", () =>
      Effect.gen(function*() {
        const breaker = yield* opened()
        yield* TestClock.adjust("300 seconds")
        const probe = yield* Effect.fork(breaker.withBreaker(Effect.as(Effect.sleep("10 seconds"), "ok")))
        yield* TestClock.adjust(0)
        const rejected = yield* Effect.flip(breaker.withBreaker(Effect.succeed("other")))
        expect(rejected).toMatchObject({ _tag: "CircuitOpen", state: "half-open", retryAt: 300_000 })
        expect(Duration.toMillis(rejected.retryAfter)).toBe(0)
        expect(rejected.message).toContain("half-open with 1 trial call in flight")
        yield* TestClock.adjust("10 seconds")
        expect(yield* Fiber.join(probe)).toBe("ok")
        expect(yield* breaker.state).toBe("closed")
      }))

    it.scoped("halfOpenProbes = 2 admits two concurrent probes, rejects a third, closes when both succeed", () =>
      Effect.gen(function*() {
        const breaker = yield* opened("m", { halfOpenProbes: 2 })
        const changes = yield* collect(breaker.changes, 2)
        yield* TestClock.adjust("300 seconds")
        const runs = yield* Ref.make(0)
        const slow = (seconds: number) =>
          breaker.withBreaker(Effect.zipRight(Ref.update(runs, (n) => n + 1), Effect.sleep(Duration.seconds(seconds))))
        const first = yield* Effect.fork(slow(5))
        const second = yield* Effect.fork(slow(10))
        yield* TestClock.adjust(0)
        const third = yield* Effect.either(slow(1))
        expect(Either.isLeft(third) && third.left._tag).toBe("CircuitOpen")
        expect(yield* Ref.get(runs)).toBe(2)
        yield* TestClock.adjust("5 seconds")
        yield* Fiber.join(first)
        expect(yield* breaker.state).toBe("half-open") // one of two probes done
        yield* TestClock.adjust("5 seconds")
        yield* Fiber.join(second)
        expect(yield* breaker.state).toBe("closed")
        expect((yield* changes).map((t) => t.reason)).toEqual(["open time elapsed", "2 probes succeeded"])
      }))

    it.effect("with two probes, one failure re-opens it and the other's late result is ignored", () =>
      Effect.gen(function*() {
        const breaker = yield* opened("m", { halfOpenProbes: 2 })
        yield* TestClock.adjust("300 seconds")
        const late = yield* Effect.fork(breaker.withBreaker(Effect.sleep("10 seconds")))
        yield* TestClock.adjust(0)
        yield* fail(breaker)
        expect(yield* breaker.snapshot).toMatchObject({ state: "open", openUntil: 900_000 })
        yield* TestClock.adjust("10 seconds")
        yield* Fiber.join(late)
        expect(yield* breaker.snapshot).toMatchObject({ state: "open", openUntil: 900_000, opened: 2 })
      }))

    it.effect("an interrupted probe releases its slot and is not counted", () =>
      Effect.gen(function*() {
        const breaker = yield* opened()
        yield* TestClock.adjust("300 seconds")
        const started = yield* Deferred.make<void>()
        const hung = yield* Effect.fork(breaker.withBreaker(Effect.zipRight(Deferred.succeed(started, undefined), Effect.never)))
        yield* Deferred.await(started)
        expect(Either.isLeft(yield* Effect.either(succeed(breaker)))).toBe(true) // slot taken
        yield* Fiber.interrupt(hung)
        expect(yield* breaker.state).toBe("half-open") // not counted as a failure
        yield* succeed(breaker) // the slot is free again
        expect(yield* breaker.state).toBe("closed")
      }))

    it.effect("a last-resort trial runs while open, at most one per interval: success closes the breaker", () =>
      Effect.gen(function*() {
        const breaker = yield* opened()
        // 10 s into a 300 s open time: withBreaker still refuses, lastResort lets one call through
        yield* TestClock.adjust("10 seconds")
        expect(Either.isLeft(yield* Effect.either(succeed(breaker)))).toBe(true)
        const failed = yield* Effect.either(breaker.lastResort(Effect.fail(overloaded)))
        expect(Either.isLeft(failed) && failed.left === overloaded).toBe(true) // it ran, and failed
        expect(yield* breaker.state).toBe("open")
        // the next one within the interval is refused without running
        let ran = false
        const refused = yield* Effect.either(breaker.lastResort(Effect.sync(() => (ran = true))))
        expect([Either.isLeft(refused) && refused.left._tag, ran]).toEqual(["CircuitOpen", false])
        yield* TestClock.adjust("10 seconds")
        yield* breaker.lastResort(Effect.void)
        expect(yield* breaker.state).toBe("closed")
      }))

    it.effect("a probe that dies (a bug, not an answer) neither closes nor re-opens the breaker, and frees its slot", () =>
      Effect.gen(function*() {
        const breaker = yield* opened()
        yield* TestClock.adjust("300 seconds")
        yield* Effect.exit(breaker.withBreaker(Effect.dieMessage("a bug in the caller")))
        expect(yield* breaker.state).toBe("half-open")
        yield* succeed(breaker) // the slot is free for the next trial
        expect(yield* breaker.state).toBe("closed")
      }))

    it.effect("a non-counted error on a probe means the model answered: it closes", () =>
      Effect.gen(function*() {
        const breaker = yield* opened()
        yield* TestClock.adjust("300 seconds")
        yield* failWith(breaker, hard("BadRequest"))
        expect(yield* breaker.state).toBe("closed")
      }))
  })

  it.scoped("state and snapshot are read without calling through the breaker and change nothing", () =>
    Effect.gen(function*() {
      const breaker = yield* CircuitBreaker.make("m")
      const next = yield* collect(breaker.changes, 3)
      expect(yield* breaker.state).toBe("closed")
      yield* fail(breaker, 5)
      for (const at of ["300 seconds", "100 seconds", "200 seconds"] as const) {
        yield* TestClock.adjust(at)
        expect(yield* breaker.state).toBe("half-open")
        expect((yield* breaker.snapshot).state).toBe("half-open")
      }
      yield* failWith(breaker) // the first call, at 600 s, is the probe
      expect((yield* next).map((t) => [t.from, t.to, t.at])).toEqual([
        ["closed", "open", 0],
        ["open", "half-open", 600_000],
        ["half-open", "open", 600_000]
      ])
      expect(yield* breaker.snapshot).toMatchObject({ state: "open", openUntil: 1_200_000, opened: 2 })
    }))

  it.scoped("changes subscribes when it runs: a transition made at once after it, before the stream is read, is the stream's first", () =>
    Effect.gen(function*() {
      const breaker = yield* CircuitBreaker.make("veo-3")
      const transitions = yield* breaker.changes
      yield* fail(breaker, 5) // nothing else runs in between: no yield, no sleep
      expect(yield* headNow(transitions)).toEqual(Option.some(
        { model: "veo-3", from: "closed", to: "open", at: 0, reason: "failure rate 100% >= 30% over 5 calls" }
      ))
      // the shared stream of every breaker likewise
      const breakers = yield* CircuitBreaker.CircuitBreakers
      const all = yield* breakers.changes
      yield* fail(yield* breakers.get("sora-2"), 5)
      expect(Option.map(yield* headNow(all), (t) => [t.model, t.from, t.to])).toEqual(Option.some(["sora-2", "closed", "open"]))
    }).pipe(Effect.provide(CircuitBreaker.layer())))

  it.scoped("changes delivers every transition in order, with its time and reason", () =>
    Effect.gen(function*() {
      const breaker = yield* CircuitBreaker.make("veo-3")
      const all = yield* collect(breaker.changes, 5)
      yield* fail(breaker, 5) // t = 0
      yield* TestClock.adjust("300 seconds")
      yield* fail(breaker) // probe fails at 300 s: open until 900 s
      yield* TestClock.adjust("600 seconds")
      yield* succeed(breaker) // probe succeeds at 900 s
      expect(yield* all).toEqual([
        { model: "veo-3", from: "closed", to: "open", at: 0, reason: "failure rate 100% >= 30% over 5 calls" },
        { model: "veo-3", from: "open", to: "half-open", at: 300_000, reason: "open time elapsed" },
        { model: "veo-3", from: "half-open", to: "open", at: 300_000, reason: "probe failed" },
        { model: "veo-3", from: "open", to: "half-open", at: 900_000, reason: "open time elapsed" },
        { model: "veo-3", from: "half-open", to: "closed", at: 900_000, reason: "probe succeeded" }
      ])
    }))

  describe("concurrency", () => {
    it.effect("200 concurrent callers: no update is lost", () =>
      Effect.gen(function*() {
        const breaker = yield* CircuitBreaker.make("m", { failureRateThreshold: 1, consecutiveFailures: Infinity })
        const call = (i: number) =>
          Effect.either(breaker.withBreaker(
            Effect.zipRight(Effect.yieldNow(), i % 10 < 3 ? Effect.fail(overloaded) : Effect.succeed(i))
          ))
        const results = yield* Effect.forEach(Array.from({ length: 200 }, (_, i) => i), call, {
          concurrency: "unbounded"
        })
        expect(results.filter(Either.isLeft)).toHaveLength(60)
        expect(yield* breaker.snapshot).toMatchObject({ state: "closed", calls: 200, failures: 60, failureRate: 0.3 })
      }))

    it.effect("200 concurrent callers into a half-open breaker: exactly halfOpenProbes get through", () =>
      Effect.gen(function*() {
        const breaker = yield* opened("m", { halfOpenProbes: 3 })
        yield* TestClock.adjust("300 seconds")
        const runs = yield* Ref.make(0)
        const fiber = yield* Effect.fork(Effect.forEach(
          Array.from({ length: 200 }),
          () => Effect.either(breaker.withBreaker(Effect.zipRight(Ref.update(runs, (n) => n + 1), Effect.sleep("1 second")))),
          { concurrency: "unbounded" }
        ))
        yield* TestClock.adjust("1 second")
        const results = yield* Fiber.join(fiber)
        expect(yield* Ref.get(runs)).toBe(3)
        expect(results.filter(Either.isLeft)).toHaveLength(197)
        expect(yield* breaker.state).toBe("closed")
      }))

    it.scoped("transitions are published once each under concurrency", () =>
      Effect.gen(function*() {
        const breaker = yield* CircuitBreaker.make("m")
        const next = yield* collect(breaker.changes, 4)
        yield* Effect.forEach(Array.from({ length: 50 }), () => failWith(breaker), { concurrency: "unbounded" })
        yield* TestClock.adjust("300 seconds")
        yield* Effect.forEach(Array.from({ length: 50 }), () => succeed(breaker).pipe(Effect.either), {
          concurrency: "unbounded"
        })
        yield* fail(breaker, 5)
        expect((yield* next).map((t) => t.to)).toEqual(["open", "half-open", "closed", "open"])
        expect((yield* breaker.snapshot).opened).toBe(2)
      }))
  })

  describe("memory", () => {
    it.effect("counts stay exact over many windows of traffic (the window is a fixed ring)", () =>
      Effect.gen(function*() {
        const breaker = yield* CircuitBreaker.make("m")
        // 10 minutes: every 3 s, 10 calls of which 1 fails (10 %)
        for (let t = 0; t < 600; t += 3) {
          yield* succeed(breaker, 9)
          yield* fail(breaker)
          yield* TestClock.adjust("3 seconds")
        }
        // now t = 600 s: the window is the 12 buckets of 5 s from 545 s, which hold the calls at 546, 549, …, 597 s
        expect(yield* breaker.snapshot).toMatchObject({ state: "closed", calls: 180, failures: 18, opened: 0 })
        yield* TestClock.adjust("60 seconds")
        expect(yield* breaker.snapshot).toMatchObject({ calls: 0, failures: 0 })
      }))

    it("the window's ring never changes size and its totals equal the sum of its buckets", () => {
      let window = Window.empty(60_000, 12, 0)
      let t = 0
      const sizes = new Set<number>()
      for (let i = 0; i < 20_000; i++) {
        t += (i * 7919) % 3001 // irregular steps, sometimes none, sometimes several buckets
        window = Window.record(window, t, i % 3 === 0)
        sizes.add(window.slots.length)
      }
      expect([...sizes]).toEqual([12])
      expect(window.calls).toBe(window.slots.reduce((n, b) => n + b.calls, 0))
      expect(window.failures).toBe(window.slots.reduce((n, b) => n + b.failures, 0))
      const later = Window.advance(window, t + 61_000)
      expect([later.slots.length, later.calls, later.failures]).toEqual([12, 0, 0])
    })
  })

  describe("CircuitBreakers", () => {
    it.effect("get returns the same breaker for the same model, even when asked concurrently", () =>
      Effect.gen(function*() {
        const breakers = yield* CircuitBreaker.CircuitBreakers
        const many = yield* Effect.forEach(Array.from({ length: 20 }), () => breakers.get("gpt-image-1.5"), {
          concurrency: "unbounded"
        })
        expect(new Set(many).size).toBe(1)
        const other = yield* breakers.get("seedream-4.5")
        expect(other).not.toBe(many[0])
        expect((yield* breakers.all).map((b) => b.model)).toEqual(["gpt-image-1.5", "seedream-4.5"])
      }).pipe(Effect.provide(CircuitBreaker.layer())))

    it.scoped("per-model options override the shared ones", () =>
      Effect.gen(function*() {
        const breakers = yield* CircuitBreaker.CircuitBreakers
        const all = yield* collect(breakers.changes, 1)
        const video = yield* breakers.get("veo-3")
        const image = yield* breakers.get("gpt-image-1.5")
        yield* fail(video, 2)
        yield* fail(image, 2)
        expect([yield* video.state, yield* image.state]).toEqual(["open", "closed"])
        expect((yield* video.snapshot).openUntil).toBe(600_000) // shared openDuration
        expect(yield* all).toEqual([
          { model: "veo-3", from: "closed", to: "open", at: 0, reason: "2 consecutive failures" }
        ])
      }).pipe(Effect.provide(CircuitBreaker.layer({
        openDuration: "10 minutes",
        perModel: { "veo-3": { consecutiveFailures: 2, minimumCalls: 100 } }
      }))))

    it.scoped("changes carries every model's transitions", () =>
      Effect.gen(function*() {
        const breakers = yield* CircuitBreaker.CircuitBreakers
        const all = yield* collect(breakers.changes, 2)
        yield* fail(yield* breakers.get("a"), 5)
        yield* fail(yield* breakers.get("b"), 5)
        expect((yield* all).map((t) => [t.model, t.to])).toEqual([["a", "open"], ["b", "open"]])
      }).pipe(Effect.provide(CircuitBreaker.layer())))
  })

  describe("invalid options", () => {
    const cases: ReadonlyArray<readonly [string, CircuitBreaker.CircuitBreakerOptions]> = [
      ["window", { window: "0 seconds" }],
      ["window", { window: Infinity }],
      ["window", { window: "soon" as Duration.DurationInput }],
      ["buckets", { buckets: 0 }],
      ["buckets", { buckets: 2.5 }],
      ["minimumCalls", { minimumCalls: -1 }],
      ["failureRateThreshold", { failureRateThreshold: 0 }],
      ["failureRateThreshold", { failureRateThreshold: 1.5 }],
      ["failureRateThreshold", { failureRateThreshold: NaN }],
      ["consecutiveFailures", { consecutiveFailures: 0 }],
      ["openDuration", { openDuration: -5 }],
      ["openBackoffFactor", { openBackoffFactor: 0.5 }],
      ["maxOpenDuration", { maxOpenDuration: "1 minute" }],
      ["halfOpenProbes", { halfOpenProbes: 0 }],
      ["isFailure", { isFailure: "yes" as unknown as (e: unknown) => boolean }]
    ]
    for (const [field, options] of cases) {
      it.effect(`${field}: ${JSON.stringify(options) ?? String(options)}`, () =>
        Effect.gen(function*() {
          const error = yield* Effect.flip(CircuitBreaker.make("m", options))
          expect(error._tag).toBe("InvalidCircuitBreakerOptions")
          expect(error.field).toBe(field)
          expect(error.message.startsWith(`${field}: `)).toBe(true)
        }))
    }

    it.effect("the layer checks every model's options at build time, naming the model", () =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(Effect.provide(
          CircuitBreaker.CircuitBreakers,
          CircuitBreaker.layer({ perModel: { "veo-3": { openBackoffFactor: 0 } } })
        ))
        expect(error).toMatchObject({ _tag: "InvalidCircuitBreakerOptions", field: "perModel.veo-3.openBackoffFactor" })
        const shared = yield* Effect.flip(Effect.provide(CircuitBreaker.CircuitBreakers, CircuitBreaker.layer({ buckets: -1 })))
        expect(shared.field).toBe("buckets")
      }))

    it.effect("undefined options keep their defaults", () =>
      Effect.gen(function*() {
        const breaker = yield* CircuitBreaker.make("m", { minimumCalls: undefined as unknown as number })
        yield* fail(breaker, 5)
        expect(yield* breaker.state).toBe("open")
      }))
  })
})
