import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, Ref, TestClock } from "effect"
import * as OutputValidator from "../src/OutputValidator.js"
import * as RequestCache from "../src/RequestCache.js"

/** An upstream call that counts itself and waits for `gate` before answering. */
const upstream = (calls: Ref.Ref<number>, gate: Deferred.Deferred<void>, answer: Effect.Effect<string, string>) =>
  Ref.update(calls, (n) => n + 1).pipe(Effect.zipRight(Deferred.await(gate)), Effect.zipRight(answer))

/** Let forked callers reach their wait. */
const turns = Effect.repeatN(Effect.yieldNow(), 10)

describe("RequestCache", () => {
  it.effect("identical concurrent requests share one upstream call", () =>
    Effect.gen(function*() {
      const cache = yield* RequestCache.make()
      const calls = yield* Ref.make(0)
      const gate = yield* Deferred.make<void>()
      const key = RequestCache.keyOf("images", { model: "flux-2-pro", prompt: "a fox" })
      const fibers = yield* Effect.forEach(Array.from({ length: 20 }), () => Effect.fork(cache.get(key, upstream(calls, gate, Effect.succeed("img")))))
      // every caller is inside `get` (1 miss + 19 hits on the call in flight) before upstream answers
      yield* Effect.repeat(cache.stats, { until: (s) => s.hits + s.misses >= 20 })
      yield* Deferred.succeed(gate, undefined)
      const results = yield* Effect.forEach(fibers, Fiber.join)
      expect(results).toEqual(Array(20).fill("img"))
      expect(yield* Ref.get(calls)).toBe(1)
    }))

  it.effect("without a TTL a caller who comes while the call is in flight joins it, however much later", () =>
    Effect.gen(function*() {
      const cache = yield* RequestCache.make()
      const calls = yield* Ref.make(0)
      const gate = yield* Deferred.make<void>()
      const get = cache.get("k", upstream(calls, gate, Effect.succeed("img")))
      const first = yield* Effect.fork(get)
      yield* turns
      yield* TestClock.adjust("5 seconds")
      const second = yield* Effect.fork(get)
      yield* turns
      yield* Deferred.succeed(gate, undefined)
      expect([yield* Fiber.join(first), yield* Fiber.join(second)]).toEqual(["img", "img"])
      expect(yield* Ref.get(calls)).toBe(1)
      expect(yield* cache.stats).toEqual({ hits: 1, misses: 1, size: 0 })
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

  it.effect("with a TTL a result is fresh for the TTL after it arrived, not after the call started", () =>
    Effect.gen(function*() {
      const cache = yield* RequestCache.make({ ttl: "10 minutes" })
      const calls = yield* Ref.make(0)
      // a slow upstream: answers 5 minutes after it is called
      const get = cache.get("k", Ref.update(calls, (n) => n + 1).pipe(Effect.zipRight(Effect.sleep("5 minutes")), Effect.as("img")))
      const first = yield* Effect.fork(get)
      yield* TestClock.adjust("5 minutes")
      expect(yield* Fiber.join(first)).toBe("img") // arrived at 5 min
      yield* TestClock.adjust("9 minutes") // 14 min: 9 min after it arrived
      const again = yield* Effect.fork(get)
      yield* turns
      expect(yield* Ref.get(calls)).toBe(1)
      expect(yield* Fiber.join(again)).toBe("img")
      yield* TestClock.adjust("1 minute") // 15 min: 10 min after it arrived
      const later = yield* Effect.fork(get)
      yield* turns
      expect(yield* Ref.get(calls)).toBe(2)
      yield* TestClock.adjust("5 minutes")
      expect(yield* Fiber.join(later)).toBe("img")
    }))

  it.effect("capacity bounds the fresh results kept: the oldest goes first", () =>
    Effect.gen(function*() {
      const cache = yield* RequestCache.make({ ttl: "10 minutes", capacity: 2 })
      const calls = yield* Ref.make<ReadonlyArray<string>>([])
      const get = (key: string) => cache.get(key, Effect.as(Ref.update(calls, (all) => [...all, key]), key))
      yield* get("a")
      yield* get("b")
      yield* get("c") // "a" is evicted
      expect((yield* cache.stats).size).toBe(2)
      yield* get("c")
      yield* get("b")
      yield* get("a")
      expect(yield* Ref.get(calls)).toEqual(["a", "b", "c", "a"])
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

  it.effect("callers in flight share a failure", () =>
    Effect.gen(function*() {
      const cache = yield* RequestCache.make({ ttl: "10 minutes" })
      const calls = yield* Ref.make(0)
      const gate = yield* Deferred.make<void>()
      const get = Effect.flip(cache.get("k", upstream(calls, gate, Effect.fail("503"))))
      const fibers = yield* Effect.forEach([1, 2, 3], () => Effect.fork(get))
      yield* turns
      yield* Deferred.succeed(gate, undefined)
      expect(yield* Effect.forEach(fibers, Fiber.join)).toEqual(["503", "503", "503"])
      expect(yield* Ref.get(calls)).toBe(1)
      expect((yield* cache.stats).size).toBe(0)
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

  it.effect("interrupting one waiting caller leaves the call in flight to the others and to newcomers", () =>
    Effect.gen(function*() {
      const cache = yield* RequestCache.make()
      const calls = yield* Ref.make(0)
      const gate = yield* Deferred.make<void>()
      const get = cache.get("k", upstream(calls, gate, Effect.succeed("img")))
      const first = yield* Effect.fork(get)
      const second = yield* Effect.fork(get)
      yield* turns
      yield* Fiber.interrupt(second)
      const third = yield* Effect.fork(get)
      yield* turns
      yield* Deferred.succeed(gate, undefined)
      expect([yield* Fiber.join(first), yield* Fiber.join(third)]).toEqual(["img", "img"])
      expect(yield* Ref.get(calls)).toBe(1)
    }))

  it.effect("when every waiting caller is interrupted the shared call is interrupted too", () =>
    Effect.gen(function*() {
      const cache = yield* RequestCache.make({ ttl: "10 minutes" })
      const calls = yield* Ref.make(0)
      const cancelled = yield* Ref.make(0)
      const gate = yield* Deferred.make<void>()
      const get = cache.get("k", upstream(calls, gate, Effect.succeed("img")).pipe(Effect.onInterrupt(() => Ref.update(cancelled, (n) => n + 1))))
      const first = yield* Effect.fork(get)
      const second = yield* Effect.fork(get)
      yield* turns
      yield* Fiber.interrupt(first)
      expect(yield* Ref.get(cancelled)).toBe(0) // `second` still wants it
      yield* Fiber.interrupt(second)
      // nobody wants it any more: it was interrupted before `second`'s interruption returned
      expect(yield* Ref.get(cancelled)).toBe(1)
      expect((yield* cache.stats).size).toBe(0)
      // the next caller starts a new call
      yield* Deferred.succeed(gate, undefined)
      expect(yield* get).toBe("img")
      expect(yield* Ref.get(calls)).toBe(2)
    }))

  it("keyOf ignores field order and undefined fields", () => {
    const a = RequestCache.keyOf("c", { model: "m", prompt: "p", n: undefined, options: { b: 1, a: 2 } })
    const b = RequestCache.keyOf("c", { prompt: "p", options: { a: 2, b: 1 }, model: "m" })
    expect(a).toBe(b)
    expect(RequestCache.keyOf("other", { prompt: "p", model: "m" })).not.toBe(RequestCache.keyOf("c", { prompt: "p", model: "m" }))
  })

  it("keyOf: requests with different output validators do not share a key", () => {
    const label = OutputValidator.oneOf(["positive", "negative"])
    const long = OutputValidator.minWords(10)
    const key = (validate: ReadonlyArray<OutputValidator.OutputValidator>) => RequestCache.keyOf("text", { prompt: "p", validate })
    expect(key([label])).not.toBe(key([long]))
    expect(key([label])).not.toBe(key([]))
    expect(key([label])).toBe(key([label]))
  })

  it("keyOf: functions are keyed by identity (the same hook shares, another does not)", () => {
    const onAttempt = () => Effect.void
    const other = () => Effect.void
    const key = (options: object) => RequestCache.keyOf("image", { input: { prompt: "p" }, options })
    expect(key({ onAttempt })).toBe(key({ onAttempt }))
    expect(key({ onAttempt })).not.toBe(key({ onAttempt: other }))
    expect(key({ onAttempt })).not.toBe(key({}))
    expect(key({ admit: onAttempt })).not.toBe(key({ onAttempt }))
  })

  it("keyOf: bytes by content, bigints by value", () => {
    expect(RequestCache.keyOf("c", { image: new Uint8Array([1, 2]) })).toBe(RequestCache.keyOf("c", { image: new Uint8Array([1, 2]) }))
    expect(RequestCache.keyOf("c", { image: new Uint8Array([1, 2]) })).not.toBe(RequestCache.keyOf("c", { image: new Uint8Array([1, 3]) }))
    expect(RequestCache.keyOf("c", { seed: 1n })).toBe(RequestCache.keyOf("c", { seed: 1n }))
    expect(RequestCache.keyOf("c", { seed: 1n })).not.toBe(RequestCache.keyOf("c", { seed: 2n }))
  })

  it.effect("bad options name the field", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(RequestCache.make({ capacity: 0 }))
      expect([error._tag, error.field]).toEqual(["InvalidRequestCacheOptions", "capacity"])
    }))
})
