import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, FastCheck as fc, Fiber, Layer, Ref, Supervisor, TestClock } from "effect"
import * as CircuitBreaker from "../src/CircuitBreaker.js"
import { equivalent, hashOf } from "../src/internal/requestCache/key.js"
import { Store } from "../src/internal/requestCache/store.js"
import * as OutputValidator from "../src/OutputValidator.js"
import * as RequestCache from "../src/RequestCache.js"
import * as ResilientClient from "../src/ResilientClient.js"
import * as RetryPolicy from "../src/RetryPolicy.js"
import * as ScriptedProvider from "../src/ScriptedProvider.js"
import { Message, TextResult } from "../src/TextGeneration.js"

/** An upstream call that counts itself and waits for `gate` before answering. */
const upstream = (calls: Ref.Ref<number>, gate: Deferred.Deferred<void>, answer: Effect.Effect<string, string>) =>
  Ref.update(calls, (n) => n + 1).pipe(Effect.zipRight(Deferred.await(gate)), Effect.zipRight(answer))

/** Counts the fibers started under it. */
class FiberStarts extends Supervisor.AbstractSupervisor<number> {
  count = 0
  get value() {
    return Effect.sync(() => this.count)
  }
  override onStart() {
    this.count++
  }
}

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

  describe("getFor (a request hashed in place instead of a key string)", () => {
    it.effect("identical concurrent requests share one call, whatever their field order and undefined fields", () =>
      Effect.gen(function*() {
        const cache = yield* RequestCache.make()
        const calls = yield* Ref.make(0)
        const gate = yield* Deferred.make<void>()
        const requests = [
          { input: { prompt: "a fox", size: "1024x1024" }, options: undefined },
          { options: undefined, input: { size: "1024x1024", prompt: "a fox", n: undefined } },
          { input: { prompt: "a fox", size: "1024x1024" } }
        ]
        const fibers = yield* Effect.forEach(requests, (request) => Effect.fork(cache.getFor("image", request, upstream(calls, gate, Effect.succeed("fox")))))
        const other = yield* Effect.fork(cache.getFor("image", { input: { prompt: "a cat", size: "1024x1024" } }, upstream(calls, gate, Effect.succeed("cat"))))
        yield* Effect.repeat(cache.stats, { until: (s) => s.hits + s.misses >= 4 })
        yield* Deferred.succeed(gate, undefined)
        expect(yield* Effect.forEach(fibers, Fiber.join)).toEqual(["fox", "fox", "fox"])
        expect(yield* Fiber.join(other)).toBe("cat")
        expect(yield* Ref.get(calls)).toBe(2)
        expect(yield* cache.stats).toEqual({ hits: 2, misses: 2, size: 0 })
      }))

    it.effect("the first caller interrupted while a second waits: the second still gets the result, and the call ran once", () =>
      Effect.gen(function*() {
        const cache = yield* RequestCache.make()
        const calls = yield* Ref.make(0)
        const gate = yield* Deferred.make<void>()
        const get = cache.getFor("text", { input: { prompt: "p" } }, upstream(calls, gate, Effect.succeed("ok")))
        const first = yield* Effect.fork(get)
        yield* Effect.repeat(cache.stats, { until: (s) => s.misses >= 1 })
        const second = yield* Effect.fork(get)
        yield* Effect.repeat(cache.stats, { until: (s) => s.hits >= 1 })
        yield* Fiber.interrupt(first)
        yield* Deferred.succeed(gate, undefined)
        expect(yield* Fiber.join(second)).toBe("ok")
        expect(yield* Ref.get(calls)).toBe(1)
      }))

    it.effect("requests whose hashes collide are told apart: each gets its own call and result, an identical one still shares", () =>
      Effect.gen(function*() {
        // every request hashes to 0, so all of them meet in one bucket
        const store = new Store(10 * 60_000, 10, true, () => 0)
        const calls = yield* Ref.make(0)
        const gate = yield* Deferred.make<void>()
        const get = (prompt: string) => store.getFor("text", { prompt }, upstream(calls, gate, Effect.succeed(prompt)))
        const fibers = yield* Effect.forEach(["a", "b", "a", "c"], (prompt) => Effect.fork(get(prompt)))
        yield* Effect.repeat(Effect.sync(() => store.stats(0)), { until: (s) => s.hits + s.misses >= 4 })
        // a string key is never taken for a request that uses the same string as its chain
        const keyed = yield* Effect.fork(store.getByKey("text", upstream(calls, gate, Effect.succeed("by key"))))
        yield* turns
        yield* Deferred.succeed(gate, undefined)
        expect(yield* Effect.forEach(fibers, Fiber.join)).toEqual(["a", "b", "a", "c"])
        expect(yield* Fiber.join(keyed)).toBe("by key")
        expect(yield* Ref.get(calls)).toBe(4)
        // and the kept results stay apart too
        expect(yield* get("b")).toBe("b")
        expect(yield* get("c")).toBe("c")
        expect(yield* Ref.get(calls)).toBe(4)
      }))

    it.effect("two long prompts that hash alike (they differ only where the hash does not sample) do not share", () =>
      Effect.gen(function*() {
        const base = "x".repeat(1000)
        const request = (text: string) => ({ input: { prompt: text } })
        // a position the hash of a long string does not read
        const at = Array.from({ length: base.length }, (_, i) => i).find((i) =>
          hashOf("text", request(base)) === hashOf("text", request(`${base.slice(0, i)}y${base.slice(i + 1)}`))
        )!
        expect(at).toBeDefined()
        const other = `${base.slice(0, at)}y${base.slice(at + 1)}`
        const cache = yield* RequestCache.make()
        const calls = yield* Ref.make(0)
        const gate = yield* Deferred.make<void>()
        const a = yield* Effect.fork(cache.getFor("text", request(base), upstream(calls, gate, Effect.succeed("base"))))
        const b = yield* Effect.fork(cache.getFor("text", request(other), upstream(calls, gate, Effect.succeed("other"))))
        yield* turns
        yield* Deferred.succeed(gate, undefined)
        expect([yield* Fiber.join(a), yield* Fiber.join(b)]).toEqual(["base", "other"])
        expect(yield* Ref.get(calls)).toBe(2)
      }))

    it.effect("with a TTL a result is kept for the request as it was: changing the request object afterwards does not move it", () =>
      Effect.gen(function*() {
        const cache = yield* RequestCache.make({ ttl: "10 minutes" })
        const calls = yield* Ref.make(0)
        const gate = yield* Deferred.make<void>()
        yield* Deferred.succeed(gate, undefined)
        const request = { input: { prompt: "a fox" } }
        yield* cache.getFor("image", request, upstream(calls, gate, Effect.succeed("fox")))
        request.input.prompt = "a cat"
        expect(yield* cache.getFor("image", { input: { prompt: "a fox" } }, upstream(calls, gate, Effect.succeed("other")))).toBe("fox")
        expect(yield* cache.getFor("image", { input: { prompt: "a cat" } }, upstream(calls, gate, Effect.succeed("cat")))).toBe("cat")
        expect(yield* Ref.get(calls)).toBe(2)
      }))

    it.effect("when every waiting caller is interrupted the shared call is interrupted, and the next caller starts anew", () =>
      Effect.gen(function*() {
        const cache = yield* RequestCache.make()
        const calls = yield* Ref.make(0)
        const cancelled = yield* Ref.make(0)
        const gate = yield* Deferred.make<void>()
        const get = cache.getFor("text", { prompt: "p" }, upstream(calls, gate, Effect.succeed("ok")).pipe(Effect.onInterrupt(() => Ref.update(cancelled, (n) => n + 1))))
        const first = yield* Effect.fork(get)
        const second = yield* Effect.fork(get)
        yield* turns
        yield* Fiber.interrupt(first)
        expect(yield* Ref.get(cancelled)).toBe(0)
        yield* Fiber.interrupt(second)
        expect(yield* Ref.get(cancelled)).toBe(1)
        expect((yield* cache.stats).size).toBe(0)
        yield* Deferred.succeed(gate, undefined)
        expect(yield* get).toBe("ok")
        expect(yield* Ref.get(calls)).toBe(2)
      }))
  })

  describe("shareInFlight: false", () => {
    it.effect("forks no fiber and runs each call on its caller's fiber, so identical concurrent calls are not shared", () =>
      Effect.gen(function*() {
        const calls = yield* Ref.make(0)
        const gate = yield* Deferred.make<void>()
        yield* Deferred.succeed(gate, undefined)
        const forks = (cache: RequestCache.RequestCache) =>
          Effect.gen(function*() {
            const starts = new FiberStarts()
            const results = yield* Effect.supervised(
              Effect.all([cache.getFor("text", { prompt: "p" }, upstream(calls, gate, Effect.succeed("ok"))), cache.get("k", upstream(calls, gate, Effect.succeed("k")))]),
              starts
            )
            expect(results).toEqual(["ok", "k"])
            return starts.count
          })
        // a shared call gets a fiber of its own, one per call; unshared calls get none
        expect(yield* forks(yield* RequestCache.make())).toBe(2)
        const cache = yield* RequestCache.make({ shareInFlight: false })
        expect(yield* forks(cache)).toBe(0)
        // identical calls at once: each runs
        const held = yield* Deferred.make<void>()
        const before = yield* Ref.get(calls)
        const both = yield* Effect.fork(Effect.all(
          [cache.getFor("text", { prompt: "q" }, upstream(calls, held, Effect.succeed("q"))), cache.getFor("text", { prompt: "q" }, upstream(calls, held, Effect.succeed("q")))],
          { concurrency: 2 }
        ))
        yield* turns
        yield* Deferred.succeed(held, undefined)
        expect(yield* Fiber.join(both)).toEqual(["q", "q"])
        expect((yield* Ref.get(calls)) - before).toBe(2)
        expect(yield* cache.stats).toEqual({ hits: 0, misses: 4, size: 0 })
      }))

    it.effect("with a TTL a success is still kept and reused, a failure is not", () =>
      Effect.gen(function*() {
        const cache = yield* RequestCache.make({ ttl: "10 minutes", shareInFlight: false })
        const calls = yield* Ref.make(0)
        const gate = yield* Deferred.make<void>()
        yield* Deferred.succeed(gate, undefined)
        expect(yield* Effect.flip(cache.getFor("text", { prompt: "p" }, upstream(calls, gate, Effect.fail("503"))))).toBe("503")
        expect(yield* cache.getFor("text", { prompt: "p" }, upstream(calls, gate, Effect.succeed("a")))).toBe("a")
        yield* TestClock.adjust("9 minutes")
        expect(yield* cache.getFor("text", { prompt: "p" }, upstream(calls, gate, Effect.succeed("b")))).toBe("a")
        expect(yield* Ref.get(calls)).toBe(2)
        yield* TestClock.adjust("2 minutes")
        expect(yield* cache.getFor("text", { prompt: "p" }, upstream(calls, gate, Effect.succeed("c")))).toBe("c")
        expect(yield* Ref.get(calls)).toBe(3)
      }))

    it.effect("interrupting a caller interrupts its own call", () =>
      Effect.gen(function*() {
        const cache = yield* RequestCache.make({ shareInFlight: false })
        const calls = yield* Ref.make(0)
        const cancelled = yield* Ref.make(0)
        const gate = yield* Deferred.make<void>()
        const fiber = yield* Effect.fork(cache.getFor("text", { prompt: "p" }, upstream(calls, gate, Effect.succeed("ok")).pipe(Effect.onInterrupt(() => Ref.update(cancelled, (n) => n + 1)))))
        yield* turns
        yield* Fiber.interrupt(fiber)
        expect([yield* Ref.get(calls), yield* Ref.get(cancelled)]).toEqual([1, 1])
      }))

    it.effect("a value other than true or false names the field", () =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(RequestCache.make({ shareInFlight: "no" as unknown as boolean }))
        expect([error._tag, error.field]).toEqual(["InvalidRequestCacheOptions", "shareInFlight"])
      }))
  })
})

describe("the client's shareInFlight", () => {
  const sharedCalls = (shareInFlight: boolean | undefined) =>
    Effect.gen(function*() {
      const gate = yield* Deferred.make<void>()
      const result = TextResult.make({ provider: "scripted", model: "m", content: "ok", toolCalls: [], finishReason: "stop" })
      const scripted = yield* ScriptedProvider.make({ generateText: () => Effect.as(Deferred.await(gate), result) })
      const client = yield* ResilientClient.make({ text: [{ model: "m", provider: scripted.provider }], shareInFlight })
      const ask = () => client.generateText({ messages: [Message.make({ role: "user", content: "hi" })] })
      const both = yield* Effect.fork(Effect.all([ask(), ask()], { concurrency: 2 }))
      // both callers are in (the second joined or started its own call) before the answer comes
      yield* Effect.repeat(Effect.zipRight(Effect.yieldNow(), scripted.calls), { until: (calls) => calls.length >= (shareInFlight === false ? 2 : 1) })
      yield* turns
      yield* Deferred.succeed(gate, undefined)
      expect((yield* Fiber.join(both)).map((served) => served.value.content)).toEqual(["ok", "ok"])
      return (yield* scripted.calls).length
    }).pipe(Effect.provide(Layer.merge(RetryPolicy.layer(), CircuitBreaker.layer())))

  it.scoped("identical concurrent requests share one call by default, and each makes its own with shareInFlight: false", () =>
    Effect.gen(function*() {
      expect(yield* sharedCalls(undefined)).toBe(1)
      expect(yield* sharedCalls(false)).toBe(2)
    }))
})

/** Requests from a small world, so that equal keys come up often: leaves `keyOf` spells alike, and containers with few fields. */
const hook = () => Effect.void
const otherHook = () => Effect.void
const leaf = fc.constantFrom<unknown>(
  "a", "b", "1", "AQI=", 1, 1.5, 0, -0, NaN, Infinity, null, undefined, true, false, 1n, 2n,
  new Uint8Array([1, 2]), new Uint8Array([1, 3]), Symbol.for("s"), hook, otherHook, new Date(0), "x".repeat(300)
)
const { value } = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    leaf,
    fc.array(tie("value"), { maxLength: 3 }),
    fc.dictionary(fc.constantFrom("x", "y", "z"), tie("value"), { maxKeys: 3 })
  )
}))

describe("getFor's identity agrees with keyOf", () => {
  it.prop(
    "two requests are equivalent exactly when their keys are equal, and equivalent requests hash alike",
    [value, value],
    ([a, b]) => {
      const sameKey = RequestCache.keyOf("c", a) === RequestCache.keyOf("c", b)
      expect(equivalent("c", a, "c", b)).toBe(sameKey)
      if (sameKey) expect(hashOf("c", a)).toBe(hashOf("c", b))
      // and every request is equivalent to itself and to its own copy
      expect(equivalent("c", a, "c", structuredCloneable(a) ? structuredClone(a) : a)).toBe(true)
    },
    { fastCheck: { numRuns: 2000 } }
  )

  it("bytes are compared and hashed as the base64 keyOf writes for them, long ones included", () => {
    for (const length of [0, 1, 2, 3, 190, 191, 192, 193, 1000, 1001]) {
      const bytes = Uint8Array.from({ length }, (_, i) => (i * 37 + 11) & 255)
      const text = Buffer.from(bytes).toString("base64")
      expect(RequestCache.keyOf("c", { image: bytes })).toBe(RequestCache.keyOf("c", { image: text }))
      expect(equivalent("c", { image: bytes }, "c", { image: text })).toBe(true)
      expect(hashOf("c", { image: bytes })).toBe(hashOf("c", { image: text }))
      const changed = bytes.slice()
      if (length > 0) changed[length - 1] = changed[length - 1]! ^ 1
      expect(equivalent("c", { image: bytes }, "c", { image: changed })).toBe(length === 0)
    }
  })

  it("a cycle is compared as keyOf marks it", () => {
    const a: Record<string, unknown> = { x: 1 }
    a["self"] = a
    const b: Record<string, unknown> = { x: 1 }
    b["self"] = b
    expect(RequestCache.keyOf("c", a)).toBe(RequestCache.keyOf("c", b))
    expect(equivalent("c", a, "c", b)).toBe(true)
    expect(hashOf("c", a)).toBe(hashOf("c", b))
    expect(equivalent("c", a, "c", { x: 2, self: b })).toBe(false)
  })
})

/** Whether `structuredClone` copies a value faithfully enough for `keyOf` (no functions or symbols in it). */
const structuredCloneable = (value: unknown): boolean => {
  if (typeof value === "function" || typeof value === "symbol") return false
  if (typeof value !== "object" || value === null || value instanceof Uint8Array || value instanceof Date) return true
  return Object.values(value).every(structuredCloneable)
}
