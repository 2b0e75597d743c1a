import { describe, expect, it } from "@effect/vitest"
import { Clock, Effect, Fiber } from "effect"
import { VirtualClock } from "../src/internal/virtualClock.js"

const at = (clock: VirtualClock, start: number) => Effect.map(Clock.currentTimeMillis, (now) => now - start).pipe(Effect.withClock(clock))

describe("VirtualClock (the demo's virtual time)", () => {
  it.live("time stands still while work runs and jumps to each wake-up in order", () =>
    Effect.gen(function*() {
      const clock = new VirtualClock(1_000_000)
      const woke: Array<readonly [string, number]> = []
      const sleeper = (name: string, ms: number) =>
        Effect.sleep(ms).pipe(Effect.andThen(at(clock, 1_000_000)), Effect.map((t) => woke.push([name, t])), Effect.withClock(clock))
      const realStart = Date.now()
      yield* clock.run(Effect.all([sleeper("c", 90_000), sleeper("a", 30_000), sleeper("b", 30_000), sleeper("d", 3_600_000)], { concurrency: "unbounded" }))
      expect(woke).toEqual([["a", 30_000], ["b", 30_000], ["c", 90_000], ["d", 3_600_000]])
      expect(Date.now() - realStart).toBeLessThan(5_000) // an hour of virtual time, no real sleeping
      expect(clock.jumps).toBe(3)
    }))

  it.live("real I/O between sleeps completes before the clock moves on", () =>
    Effect.gen(function*() {
      const clock = new VirtualClock(0)
      const io = Effect.promise(() => new Promise<string>((resolve) => setImmediate(() => resolve("io done"))))
      const program = Effect.gen(function*() {
        yield* Effect.sleep("10 seconds")
        const t0 = yield* Clock.currentTimeMillis
        const result = yield* io
        const t1 = yield* Clock.currentTimeMillis
        return { result, took: t1 - t0 }
      }).pipe(Effect.withClock(clock))
      // a sleeper far in the future must not be jumped to while the I/O is pending
      const far = Effect.sleep("1 hour").pipe(Effect.withClock(clock))
      const [out] = yield* clock.run(Effect.all([program, far], { concurrency: "unbounded" }))
      expect(out).toEqual({ result: "io done", took: 0 })
    }))

  it.live("an interrupted sleep is forgotten: the clock does not jump to it", () =>
    Effect.gen(function*() {
      const clock = new VirtualClock(0)
      const program = Effect.gen(function*() {
        const long = yield* Effect.fork(Effect.sleep("1 hour"))
        yield* Effect.sleep("1 second")
        yield* Fiber.interrupt(long)
        yield* Effect.sleep("2 seconds")
        return yield* Clock.currentTimeMillis
      }).pipe(Effect.withClock(clock))
      expect(yield* clock.run(program)).toBe(3_000)
    }))
})
