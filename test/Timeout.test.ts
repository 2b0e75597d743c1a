import { describe, expect, it } from "@effect/vitest"
import { Deferred, Duration, Effect, Exit, Fiber, TestClock } from "effect"
import { afterEach, vi } from "vitest"
import { timeoutFail } from "../src/internal/timeout.js"

// The attempt time-out: Effect's own timeoutFail under any clock but the live
// one; on the live clock one forked fiber and one timer (checked here with
// vitest's fake timers, so nothing waits for real).

const late = () => "timed out" as const

/** A call that never answers, saying when it has started and whether it was interrupted. */
const hangingCall = Effect.gen(function*() {
  const interrupted = yield* Deferred.make<void>()
  const started = yield* Deferred.make<void>()
  const call = Deferred.succeed(started, undefined).pipe(
    Effect.zipRight(Effect.never),
    Effect.onInterrupt(() => Deferred.succeed(interrupted, undefined))
  )
  return { call, interrupted, started }
})

afterEach(() => {
  vi.useRealTimers()
})

describe("attempt time-out", () => {
  it.effect("under TestClock it times out when the clock passes the duration", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.fork(Effect.flip(timeoutFail(Effect.never, Duration.seconds(120), late)))
      yield* TestClock.adjust("119 seconds")
      expect(fiber.unsafePoll()).toBeNull()
      yield* TestClock.adjust("1 second")
      expect(yield* Fiber.join(fiber)).toBe("timed out")
    }))

  it.live("on the live clock a call that answers in time keeps its result and leaves no timer behind", () =>
    Effect.gen(function*() {
      vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] })
      const value = yield* timeoutFail(Effect.succeed(42), Duration.seconds(120), late)
      expect(value).toBe(42)
      expect(vi.getTimerCount()).toBe(0)
    }))

  it.live("on the live clock a call still running when the timer fires is interrupted and the time-out is the failure", () =>
    Effect.gen(function*() {
      vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] })
      const { call, interrupted, started } = yield* hangingCall
      const fiber = yield* Effect.fork(Effect.either(timeoutFail(call, Duration.seconds(120), late)))
      yield* Deferred.await(started)
      vi.advanceTimersByTime(119_999)
      yield* Effect.yieldNow()
      expect(fiber.unsafePoll()).toBeNull()
      vi.advanceTimersByTime(1)
      const result = yield* Fiber.join(fiber)
      expect(result._tag === "Left" && result.left).toBe("timed out")
      expect(yield* Deferred.isDone(interrupted)).toBe(true)
    }))

  it.live("on the live clock interrupting the caller interrupts the call and clears the timer", () =>
    Effect.gen(function*() {
      vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] })
      const { call, interrupted, started } = yield* hangingCall
      const fiber = yield* Effect.fork(timeoutFail(call, Duration.seconds(120), late))
      yield* Deferred.await(started)
      const exit = yield* Fiber.interrupt(fiber)
      expect(Exit.isInterrupted(exit)).toBe(true)
      expect(yield* Deferred.isDone(interrupted)).toBe(true)
      expect(vi.getTimerCount()).toBe(0)
    }))

  it.live("an inner time-out that would end after an enclosing one costs no timer; a shorter one still has its own", () =>
    Effect.gen(function*() {
      vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] })
      const timersInside = (inner: Duration.Duration) =>
        timeoutFail(
          timeoutFail(Effect.sync(() => vi.getTimerCount()), inner, () => "inner" as const),
          Duration.seconds(120),
          late
        )
      expect(yield* timersInside(Duration.seconds(180))).toBe(1) // only the enclosing 120 s one
      expect(yield* timersInside(Duration.seconds(30))).toBe(2) // the inner 30 s one ends first: it needs its own
    }))

  it.effect("under TestClock an enclosing time-out that ends first is the one that fires", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.fork(Effect.flip(
        timeoutFail(timeoutFail(Effect.never, Duration.seconds(180), () => "inner" as const), Duration.seconds(120), late)
      ))
      yield* TestClock.adjust("120 seconds")
      expect(yield* Fiber.join(fiber)).toBe("timed out")
    }))

  it.live("on the live clock a failure of the call is its own, not a time-out", () =>
    Effect.gen(function*() {
      vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] })
      const error = yield* Effect.flip(timeoutFail(Effect.fail("overloaded" as const), Duration.seconds(120), late))
      expect(error).toBe("overloaded")
      expect(vi.getTimerCount()).toBe(0)
    }))
})
