import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, Ref, TestClock } from "effect"
import * as RequestCache from "../src/RequestCache.js"

/** An upstream call that counts itself and waits for `gate` before answering. */
const upstream = (calls: Ref.Ref<number>, gate: Deferred.Deferred<void>, answer: Effect.Effect<string, string>) =>
  Ref.update(calls, (n) => n + 1).pipe(Effect.zipRight(Deferred.await(gate)), Effect.zipRight(answer))

describe("RequestCache", () => {
  it.effect("identical concurrent requests share one upstream call", () =>
    Effect.gen(function*() {
      const cache = yield* RequestCache.make()
      const calls = yield* Ref.make(0)
      const gate = yield* Deferred.make<void>()
      const key = RequestCache.keyOf("images", { model: "flux-2-pro", prompt: "a fox" })
      const fibers = yield* Effect.forEach(Array.from({ length: 20 }), () => Effect.fork(cache.get(key, upstream(calls, gate, Effect.succeed("img")))))
      // every caller is inside `get` (1 miss + 19 hits on the pending entry) before upstream answers
      yield* Effect.repeat(cache.stats, { until: (s) => s.hits + s.misses >= 20 })
      yield* Deferred.succeed(gate, undefined)
      const results = yield* Effect.forEach(fibers, Fiber.join)
      expect(results).toEqual(Array(20).fill("img"))
      expect(yield* Ref.get(calls)).toBe(1)
    }))

  it.effect("different requests do not share", () =>
    Effect.gen(function*() {
      const cache = yield* RequestCache.make()
      const calls = yield* Ref.make(0)
      const gate = yield* Deferred.make<void>()
      yield* Deferred.succeed(gate, undefined)
      yield* cache.get(RequestCache.keyOf("images", { prompt: "a fox" }), upstream(calls, gate, Effect.succeed("fox")))
      yield* cache.get(RequestCache.keyOf("images", { prompt: "a cat" }), upstream(calls, gate, Effect.succeed("cat")))
      expect(yield* Ref.get(calls)).toBe(2)
    }))

  it.effect("without a TTL a finished result is not reused", () =>
    Effect.gen(function*() {
      const cache = yield* RequestCache.make()
      const calls = yield* Ref.make(0)
      const gate = yield* Deferred.make<void>()
      yield* Deferred.succeed(gate, undefined)
      yield* cache.get("k", upstream(calls, gate, Effect.succeed("a")))
      yield* cache.get("k", upstream(calls, gate, Effect.succeed("a")))
      expect(yield* Ref.get(calls)).toBe(2)
    }))

  it.effect("with a TTL a success is reused until it expires (TestClock)", () =>
    Effect.gen(function*() {
      const cache = yield* RequestCache.make({ ttl: "10 minutes" })
      const calls = yield* Ref.make(0)
      const gate = yield* Deferred.make<void>()
      yield* Deferred.succeed(gate, undefined)
      const get = cache.get("k", upstream(calls, gate, Effect.succeed("a")))
      yield* get
      yield* TestClock.adjust("9 minutes")
      yield* get
      expect(yield* Ref.get(calls)).toBe(1)
      yield* TestClock.adjust("2 minutes")
      yield* get
      expect(yield* Ref.get(calls)).toBe(2)
    }))

  it.effect("failures are not cached: the next caller tries again", () =>
    Effect.gen(function*() {
      const cache = yield* RequestCache.make({ ttl: "10 minutes" })
      const calls = yield* Ref.make(0)
      const gate = yield* Deferred.make<void>()
      yield* Deferred.succeed(gate, undefined)
      const first = yield* Effect.flip(cache.get("k", upstream(calls, gate, Effect.fail("503"))))
      expect(first).toBe("503")
      const second = yield* cache.get("k", upstream(calls, gate, Effect.succeed("ok")))
      expect([second, yield* Ref.get(calls)]).toEqual(["ok", 2])
    }))

  it.effect("interrupting the first caller does not cancel the call the others share", () =>
    Effect.gen(function*() {
      const cache = yield* RequestCache.make()
      const calls = yield* Ref.make(0)
      const gate = yield* Deferred.make<void>()
      const first = yield* Effect.fork(cache.get("k", upstream(calls, gate, Effect.succeed("img"))))
      yield* Effect.repeat(cache.stats, { until: (s) => s.misses >= 1 })
      const second = yield* Effect.fork(cache.get("k", upstream(calls, gate, Effect.succeed("img"))))
      yield* Effect.repeat(cache.stats, { until: (s) => s.hits >= 1 })
      yield* Fiber.interrupt(first)
      yield* Deferred.succeed(gate, undefined)
      expect(yield* Fiber.join(second)).toBe("img")
      expect(yield* Ref.get(calls)).toBe(1)
    }))

  it("keyOf ignores field order, undefined fields and validators", () => {
    const a = RequestCache.keyOf("c", { model: "m", prompt: "p", n: undefined, validate: [1] })
    const b = RequestCache.keyOf("c", { prompt: "p", model: "m" })
    expect(a).toBe(b)
    expect(RequestCache.keyOf("other", { prompt: "p", model: "m" })).not.toBe(b)
  })

  it.effect("bad options name the field", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(RequestCache.make({ capacity: 0 }))
      expect([error._tag, error.field]).toEqual(["InvalidRequestCacheOptions", "capacity"])
    }))
})
