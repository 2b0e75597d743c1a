import { describe, expect, it } from "@effect/vitest"
import { Clock, Duration, Effect, Fiber, Ref, Stream, TestClock } from "effect"
import * as LoadControl from "../src/LoadControl.js"

const HOUR = 3_600_000

/** Let forked callers reach their wait. */
const turns = Effect.repeatN(Effect.yieldNow(), 10)

describe("LoadControl", () => {
  it.scoped("the bulkhead never runs more than `concurrency` calls at once", () =>
    Effect.gen(function*() {
      const gate = yield* LoadControl.make({ concurrency: 2, requestsPerMinute: 1000 })
      const running = yield* Ref.make(0)
      const peak = yield* Ref.make(0)
      const job = Effect.gen(function*() {
        const now = yield* Ref.updateAndGet(running, (n) => n + 1)
        yield* Ref.update(peak, (p) => Math.max(p, now))
        yield* Effect.sleep("10 seconds")
        yield* Ref.update(running, (n) => n - 1)
      })
      const fiber = yield* Effect.fork(Effect.forEach(Array.from({ length: 10 }), () => gate.run(job), { concurrency: "unbounded" }))
      yield* TestClock.adjust("50 seconds")
      yield* Fiber.join(fiber)
      expect(yield* Ref.get(peak)).toBe(2)
    }))

  it.scoped("the rate limit spaces calls out: 3 per minute means the 4th starts 20 s later", () =>
    Effect.gen(function*() {
      const gate = yield* LoadControl.make({ requestsPerMinute: 3, concurrency: 10 })
      const starts = yield* Ref.make<ReadonlyArray<number>>([])
      const job = Effect.flatMap(Clock.currentTimeMillis, (t) => Ref.update(starts, (all) => [...all, t]))
      const fiber = yield* Effect.fork(Effect.forEach(Array.from({ length: 5 }), () => gate.run(job), { concurrency: "unbounded" }))
      yield* TestClock.adjust("2 minutes")
      yield* Fiber.join(fiber)
      const times = [...(yield* Ref.get(starts))].sort((a, b) => a - b)
      expect(times.slice(0, 3)).toEqual([0, 0, 0])
      expect(times[3]).toBeGreaterThanOrEqual(20_000)
      expect(times[4]).toBeGreaterThanOrEqual(40_000)
    }))

  it.scoped("a queued caller hears its position and an estimated wait", () =>
    Effect.gen(function*() {
      const gate = yield* LoadControl.make({ concurrency: 1, requestsPerMinute: 1000, assumedServiceTime: "30 seconds" })
      const heard = yield* Ref.make<ReadonlyArray<LoadControl.QueuePosition>>([])
      const listen = (p: LoadControl.QueuePosition) => Ref.update(heard, (all) => [...all, p])
      const first = yield* Effect.fork(gate.run(Effect.sleep("30 seconds"), listen))
      yield* Effect.yieldNow()
      const second = yield* Effect.fork(gate.run(Effect.void, listen))
      yield* Effect.yieldNow()
      expect((yield* gate.status)).toMatchObject({ waiting: 1, running: 1 })
      const [forFirst, forSecond] = yield* Ref.get(heard)
      expect(forFirst?.position).toBe(1)
      expect(Duration.toMillis(forFirst!.estimatedWait)).toBe(0)
      expect(forSecond?.position).toBe(1)
      expect(Duration.toMillis(forSecond!.estimatedWait)).toBe(30_000)
      yield* TestClock.adjust("30 seconds")
      yield* Fiber.join(first)
      yield* Fiber.join(second)
      expect(yield* gate.status).toMatchObject({ waiting: 0, running: 0, serviceTimeMs: 15_000 })
    }))

  it.scoped("a caller interrupted while waiting leaves the queue", () =>
    Effect.gen(function*() {
      const gate = yield* LoadControl.make({ concurrency: 1, requestsPerMinute: 1000 })
      const first = yield* Effect.fork(gate.run(Effect.sleep("1 minute")))
      yield* Effect.yieldNow()
      const second = yield* Effect.fork(gate.run(Effect.void))
      yield* Effect.yieldNow()
      expect((yield* gate.status).waiting).toBe(1)
      yield* Fiber.interrupt(second)
      expect((yield* gate.status).waiting).toBe(0)
      yield* TestClock.adjust("1 minute")
      yield* Fiber.join(first)
      expect(yield* gate.status).toMatchObject({ waiting: 0, running: 0 })
    }))

  it.scoped("an effect made by run can be run again: each execution queues afresh", () =>
    Effect.gen(function*() {
      const gate = yield* LoadControl.make({ concurrency: 1, requestsPerMinute: 1000 })
      const job = gate.run(Effect.void)
      yield* job // first execution: admitted at once
      const blocker = yield* Effect.fork(gate.run(Effect.sleep("1 minute")))
      yield* turns
      const again = yield* Effect.fork(job) // second execution: waits behind `blocker`
      yield* turns
      expect(yield* gate.status).toMatchObject({ waiting: 1, running: 1 })
      yield* Fiber.interrupt(again)
      expect(yield* gate.status).toMatchObject({ waiting: 0, running: 1 })
      yield* TestClock.adjust("1 minute")
      yield* Fiber.join(blocker)
      expect(yield* gate.status).toMatchObject({ waiting: 0, running: 0 })
    }))

  it.scoped("a caller waiting for a rate-limit token is waiting, not running, and its wait is not service time", () =>
    Effect.gen(function*() {
      const gate = yield* LoadControl.make({ concurrency: 2, requestsPerMinute: 1, assumedServiceTime: "30 seconds" })
      const job = gate.run(Effect.sleep("10 seconds"))
      const first = yield* Effect.fork(job) // takes the only token
      yield* turns
      const second = yield* Effect.fork(job) // a slot is free, the next token comes at 60 s
      yield* turns
      expect(yield* gate.status).toEqual({ waiting: 1, running: 1, serviceTimeMs: 30_000 })
      yield* TestClock.adjust("10 seconds")
      yield* Fiber.join(first)
      expect(yield* gate.status).toEqual({ waiting: 1, running: 0, serviceTimeMs: 10_000 })
      yield* TestClock.adjust("50 seconds") // 60 s: the token arrives
      yield* turns
      expect(yield* gate.status).toEqual({ waiting: 0, running: 1, serviceTimeMs: 10_000 })
      yield* TestClock.adjust("10 seconds")
      yield* Fiber.join(second)
      expect(yield* gate.status).toEqual({ waiting: 0, running: 0, serviceTimeMs: 10_000 })
    }))

  it.scoped("a caller interrupted while waiting for a token gives it back to the next", () =>
    Effect.gen(function*() {
      const gate = yield* LoadControl.make({ concurrency: 2, requestsPerMinute: 1 })
      yield* gate.run(Effect.void) // takes the only token; the next comes at 60 s
      const second = yield* Effect.fork(gate.run(Effect.void))
      yield* turns
      expect(yield* gate.status).toMatchObject({ waiting: 1, running: 0 })
      yield* Fiber.interrupt(second)
      expect(yield* gate.status).toMatchObject({ waiting: 0, running: 0 })
      const started = yield* Ref.make<number | undefined>(undefined)
      const third = yield* Effect.fork(gate.run(Effect.flatMap(Clock.currentTimeMillis, (t) => Ref.set(started, t))))
      yield* TestClock.adjust("60 seconds")
      yield* turns
      expect(yield* Ref.get(started)).toBe(60_000)
      yield* Fiber.join(third)
    }))

  it.scoped("changes streams the queue's status for a status page", () =>
    Effect.gen(function*() {
      const gate = yield* LoadControl.make({ concurrency: 1, requestsPerMinute: 1000, assumedServiceTime: "30 seconds" })
      const seen = yield* Ref.make<ReadonlyArray<LoadControl.QueueStatus>>([])
      yield* Effect.forkScoped(Stream.runForEach(gate.changes.changes, (s) => Ref.update(seen, (all) => [...all, s])))
      yield* turns
      const last = Effect.map(Ref.get(seen), (all) => all[all.length - 1])
      expect(yield* last).toEqual({ waiting: 0, running: 0, serviceTimeMs: 30_000 })
      const first = yield* Effect.fork(gate.run(Effect.sleep("10 seconds")))
      const second = yield* Effect.fork(gate.run(Effect.sleep("10 seconds")))
      yield* turns
      expect(yield* last).toEqual({ waiting: 1, running: 1, serviceTimeMs: 30_000 })
      yield* TestClock.adjust("10 seconds")
      yield* Fiber.join(first)
      yield* turns
      expect(yield* last).toEqual({ waiting: 0, running: 1, serviceTimeMs: 10_000 })
      yield* TestClock.adjust("10 seconds")
      yield* Fiber.join(second)
      yield* turns
      expect(yield* last).toEqual({ waiting: 0, running: 0, serviceTimeMs: 10_000 })
      expect(yield* gate.changes).toEqual(yield* gate.status)
    }))

  it.effect("bad options name the field", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Effect.scoped(LoadControl.make({ concurrency: 0 })))
      expect([error._tag, error.field]).toEqual(["InvalidLoadControlOptions", "concurrency"])
    }))
})

describe("OffPeakGate", () => {
  it("untilWindow: zero inside, the time to the start outside, wrapping midnight", () => {
    const utc = { startHour: 0, endHour: 6 }
    expect(Duration.toMillis(LoadControl.untilWindow(utc, 3 * HOUR))).toBe(0)
    expect(Duration.toMillis(LoadControl.untilWindow(utc, 10 * HOUR))).toBe(14 * HOUR)
    const wrap = { startHour: 22, endHour: 4 }
    expect(Duration.toMillis(LoadControl.untilWindow(wrap, 23 * HOUR))).toBe(0)
    expect(Duration.toMillis(LoadControl.untilWindow(wrap, 2 * HOUR))).toBe(0)
    expect(Duration.toMillis(LoadControl.untilWindow(wrap, 12 * HOUR))).toBe(10 * HOUR)
    // 01:00 JST is 16:00 UTC
    expect(Duration.toMillis(LoadControl.untilWindow({ startHour: 1, endHour: 3, utcOffsetHours: 9 }, 16 * HOUR))).toBe(0)
  })

  it.effect("batch work waits for the window (TestClock)", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(10 * HOUR) // 10:00 UTC, outside 00–06
      const ran = yield* Ref.make(false)
      const fiber = yield* Effect.fork(LoadControl.OffPeakGate(LoadControl.defaultOffPeakWindow)(Ref.set(ran, true)))
      yield* TestClock.adjust("13 hours")
      expect(yield* Ref.get(ran)).toBe(false)
      yield* TestClock.adjust("1 hour")
      yield* Fiber.join(fiber)
      expect(yield* Ref.get(ran)).toBe(true)
    }))
})
