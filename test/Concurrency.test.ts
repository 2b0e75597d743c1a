import { describe, expect, it } from "@effect/vitest"
import { Clock, Deferred, Effect, Either, Exit, Fiber, type Scope, Stream, Supervisor, TestClock } from "effect"
import * as CircuitBreaker from "../src/CircuitBreaker.js"
import { HardFailure, type HardReason } from "../src/Failure.js"
import * as LoadControl from "../src/LoadControl.js"
import * as ModelStatus from "../src/ModelStatus.js"

// Many fibers hitting one breaker, one load control or one model
// status at once. Nothing is lost (the counts add up exactly), nothing
// deadlocks, under the TestClock and on the live clock.

const hard = (reason: HardReason) => new HardFailure({ reason, provider: "p", model: "m", message: reason })

/** Yield until `condition` holds (other fibers make progress meanwhile); dies if it never does. */
const untilYield = (what: string, condition: () => boolean, max = 100_000) =>
  Effect.gen(function*() {
    for (let i = 0; i < max && !condition(); i++) yield* Effect.yieldNow()
    if (!condition()) return yield* Effect.dieMessage(`gave up yielding for: ${what}`)
  })

/** Collect a stream in the background from now on; the returned effect reads what arrived so far. */
const collect = <A>(subscribe: Effect.Effect<Stream.Stream<A>, never, Scope.Scope>) =>
  Effect.gen(function*() {
    const seen: Array<A> = []
    yield* Stream.runForEach(yield* subscribe, (a) => Effect.sync(() => void seen.push(a))).pipe(Effect.forkScoped)
    return Effect.as(Effect.repeatN(Effect.yieldNow(), 20), seen as ReadonlyArray<A>)
  })

/** The items in a fixed pseudo-random order (a seeded Fisher–Yates shuffle), so kinds interleave. */
const scrambled = <A>(items: ReadonlyArray<A>, seed = 42): ReadonlyArray<A> => {
  const out = [...items]
  let state = seed >>> 0
  const next = () => {
    // mulberry32
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1))
    ;[out[i], out[j]] = [out[j]!, out[i]!]
  }
  return out
}

/** Counts every resumption of the fibers it supervises: a wake-up from a wait, or the next turn after a yield. */
class Resumes extends Supervisor.AbstractSupervisor<number> {
  count = 0
  get value() {
    return Effect.sync(() => this.count)
  }
  override onResume() {
    this.count++
  }
}

describe("Concurrency: one circuit breaker", () => {
  it.scoped("6 500 fibers in one breaker at once: calls and failures add up exactly; interrupted calls count for nothing", () =>
    Effect.gen(function*() {
      // never judged (minimumCalls out of reach, no consecutive rule): the counts are all there is to see
      const breaker = yield* CircuitBreaker.make("m", { minimumCalls: 1_000_000, consecutiveFailures: Infinity })
      const transitions = yield* collect(breaker.changes)
      type Kind = "ok" | "overloaded" | "badRequest" | "interrupted"
      const pattern: ReadonlyArray<Kind> = ["ok", "overloaded", "ok", "badRequest", "ok", "overloaded", "ok", "interrupted", "ok", "overloaded", "ok", "overloaded", "interrupted"]
      const kinds = scrambled(Array.from({ length: 6_500 }, (_, i) => pattern[i % pattern.length]!))
      const count = (k: Kind) => kinds.filter((x) => x === k).length
      expect([count("ok"), count("overloaded"), count("badRequest"), count("interrupted")]).toEqual([3_000, 2_000, 500, 1_000])

      const release = yield* Deferred.make<void>()
      let inside = 0
      let peak = 0
      const job = (kind: Kind) =>
        Effect.gen(function*() {
          peak = Math.max(peak, ++inside)
          yield* Deferred.await(release) // every call is in flight before any settles
          inside--
          if (kind === "overloaded") return yield* Effect.fail(hard("Overloaded"))
          if (kind === "badRequest") return yield* Effect.fail(hard("BadRequest")) // the model answered: a success to the breaker
          return kind
        })
      const fibers = yield* Effect.forEach(kinds, (kind) => Effect.fork(breaker.withBreaker(job(kind))))
      yield* untilYield("every call to be inside the breaker", () => inside === kinds.length)
      // callers that give up while in flight
      yield* Fiber.interruptAll(fibers.filter((_, i) => kinds[i] === "interrupted"))
      yield* Deferred.succeed(release, undefined)
      const exits = yield* Effect.forEach(fibers, Fiber.await)

      expect(peak).toBe(6_500)
      expect(exits.filter(Exit.isSuccess).length).toBe(3_000)
      expect(exits.filter(Exit.isInterrupted).length).toBe(1_000)
      expect(yield* breaker.snapshot).toMatchObject({ state: "closed", calls: 5_500, failures: 2_000, opened: 0 })
      expect(yield* transitions).toEqual([])
    }))

  it.scoped("a burst that trips the breaker: exactly one closed → open; every call either ran or was rejected; the window stops at the opening count", () =>
    Effect.gen(function*() {
      const N = 3_000
      const breaker = yield* CircuitBreaker.make("m", {
        minimumCalls: 50,
        failureRateThreshold: 0.5,
        consecutiveFailures: Infinity,
        openDuration: "1 hour",
        maxOpenDuration: "2 hours",
        halfOpenProbes: 3
      })
      const transitions = yield* collect(breaker.changes)
      let ran = 0
      // caller i arrives after i mod 10 scheduler turns, so admissions and failures interleave
      const caller = (i: number) =>
        Effect.zipRight(
          Effect.repeatN(Effect.yieldNow(), i % 10),
          Effect.either(breaker.withBreaker(Effect.zipRight(Effect.sync(() => ran++), Effect.zipRight(Effect.yieldNow(), Effect.fail(hard("Overloaded"))))))
        )
      const outcomes = yield* Effect.forEach(Array.from({ length: N }, (_, i) => i), caller, { concurrency: "unbounded" })
      const failed = outcomes.filter((o) => Either.isLeft(o) && o.left._tag === "HardFailure").length
      const rejected = outcomes.filter((o) => Either.isLeft(o) && o.left._tag === "CircuitOpen").length

      expect(failed + rejected).toBe(N)
      expect(failed).toBe(ran)
      // the burst really was cut short, after at least the 50 calls that judged it
      expect(ran).toBeGreaterThanOrEqual(50)
      expect(rejected).toBeGreaterThan(0)
      // the opening settle was the 50th; later settles (admitted before it) belong to an older generation and are ignored
      expect(yield* breaker.snapshot).toMatchObject({ state: "open", calls: 50, failures: 50, opened: 1 })
      expect((yield* transitions).map((t) => `${t.from}→${t.to}`)).toEqual(["closed→open"])

      // an hour later 1 000 callers arrive at once: exactly 3 become trial calls, one open → half-open is published
      yield* TestClock.adjust("1 hour")
      const release = yield* Deferred.make<void>()
      let probes = 0
      const late = yield* Effect.fork(Effect.forEach(
        Array.from({ length: 1_000 }),
        () => Effect.either(breaker.withBreaker(Effect.zipRight(Effect.sync(() => probes++), Deferred.await(release)))),
        { concurrency: "unbounded" }
      ))
      yield* untilYield("the trial calls to be in flight", () => probes === 3)
      yield* Effect.repeatN(Effect.yieldNow(), 50)
      yield* Deferred.succeed(release, undefined)
      const lateOutcomes = yield* Fiber.join(late)
      expect(probes).toBe(3)
      expect(lateOutcomes.filter(Either.isRight).length).toBe(3)
      expect(lateOutcomes.filter((o) => Either.isLeft(o) && o.left._tag === "CircuitOpen" && o.left.state === "half-open").length).toBe(997)
      expect((yield* transitions).map((t) => `${t.from}→${t.to}`)).toEqual(["closed→open", "open→half-open", "half-open→closed"])
      expect(yield* breaker.snapshot).toMatchObject({ state: "closed", calls: 0, failures: 0, opened: 1 })
    }))
})

describe("Concurrency: one load control", () => {
  it.scoped("200 callers through one gate (concurrency 5, 60 a minute): never more than 5 running, all complete, the queue empties, the rate holds", () =>
    Effect.gen(function*() {
      const k = 5
      const r = 60 // a token a second once the bucket of 60 is spent
      const N = 200
      const gate = yield* LoadControl.make({ concurrency: k, requestsPerMinute: r })
      const starts: Array<number> = []
      let inside = 0
      let peak = 0
      let overReported = 0
      const job = (i: number) =>
        Effect.gen(function*() {
          starts.push(yield* Clock.currentTimeMillis)
          peak = Math.max(peak, ++inside)
          // the gate's own count agrees: never more than k running
          if ((yield* gate.status).running > k) overReported++
          yield* Effect.sleep("500 millis")
          inside--
          return i
        })
      const all = yield* Effect.fork(Effect.forEach(Array.from({ length: N }, (_, i) => i), (i) => gate.run(job(i)), { concurrency: "unbounded" }))
      yield* TestClock.adjust(0)
      expect(yield* gate.status).toMatchObject({ waiting: N - k, running: k })
      yield* TestClock.adjust("10 minutes")
      const results = yield* Fiber.join(all)

      expect(results).toEqual(Array.from({ length: N }, (_, i) => i))
      expect(peak).toBe(k)
      expect(overReported).toBe(0)
      expect(yield* gate.status).toMatchObject({ waiting: 0, running: 0, serviceTimeMs: 500 })
      // token bucket: r at once, then one per 60 000 / r ms — by time t at most r + ⌊t / 1 s⌋ have started
      const sorted = [...starts].sort((a, b) => a - b)
      const tooEarly = sorted.findIndex((t, j) => j + 1 > r + Math.floor(t / 1_000))
      expect(tooEarly === -1 ? "none" : `start #${tooEarly + 1} at ${sorted[tooEarly]} ms`).toBe("none")
      // … and the limit did bind: the last of the 140 callers beyond the bucket started no sooner than 140 tokens later
      expect(sorted[N - 1]).toBeGreaterThanOrEqual((N - r) * 1_000)
      // once the initial bucket is spent, every minute holds at most r starts
      const lastMinute = Math.floor(sorted[N - 1]! / 60_000)
      for (let m = 1; m <= lastMinute; m++) {
        expect(sorted.filter((t) => t >= m * 60_000 && t < (m + 1) * 60_000).length).toBeLessThanOrEqual(r)
      }
    }))
})

describe("Concurrency: queue wake-ups scale with the queue", () => {
  // A caller queued at a gate should be woken when it is its turn, not every
  // time anybody leaves: a burst of N queued callers must cost O(N) fiber
  // wake-ups, not O(N²). A correct queue needs about 3 per caller (start,
  // admission, the job's own yield); 10 per caller is a generous bound.
  it.scoped("300 callers queued for one slot: a handful of wake-ups each, not one per departure ahead of them", () =>
    Effect.gen(function*() {
      const N = 300
      const gate = yield* LoadControl.make({ concurrency: 1, requestsPerMinute: 1_000_000 })
      const resumes = new Resumes()
      yield* Effect.supervised(
        Effect.forEach(Array.from({ length: N }), () => gate.run(Effect.yieldNow()), { concurrency: "unbounded", discard: true }),
        resumes
      )
      expect(yield* gate.status).toMatchObject({ waiting: 0, running: 0 })
      expect(resumes.count).toBeLessThanOrEqual(10 * N)
    }))

  it.scoped("150 callers queued for rate-limit tokens: a handful of wake-ups each, not one per refill", () =>
    Effect.gen(function*() {
      const r = 60
      const N = r + 150 // the bucket serves 60 at once; 150 wait for refills, one a second
      const gate = yield* LoadControl.make({ concurrency: 10_000, requestsPerMinute: r })
      const resumes = new Resumes()
      const all = yield* Effect.fork(Effect.supervised(
        Effect.forEach(Array.from({ length: N }), () => gate.run(Effect.void), { concurrency: "unbounded", discard: true }),
        resumes
      ))
      yield* TestClock.adjust("3 minutes")
      yield* Fiber.join(all)
      expect(yield* gate.status).toMatchObject({ waiting: 0, running: 0 })
      expect(resumes.count).toBeLessThanOrEqual(10 * N)
    }))
})

describe("Concurrency: live clock (no deadlock)", () => {
  it("400 fibers through one breaker inside one gate, on the live clock: everything completes and adds up", async () => {
    const program = Effect.gen(function*() {
      const breaker = yield* CircuitBreaker.make("m", { minimumCalls: 1_000_000, consecutiveFailures: Infinity })
      const gate = yield* LoadControl.make({ concurrency: 4, requestsPerMinute: 100_000 })
      let inside = 0
      let peak = 0
      const job = (i: number) =>
        Effect.gen(function*() {
          peak = Math.max(peak, ++inside)
          yield* Effect.yieldNow()
          inside--
          if (i % 4 === 0) return yield* Effect.fail(hard("ServerError"))
          return i
        })
      // as the fallback chain composes them: the gate outside the breaker
      const outcomes = yield* Effect.forEach(
        Array.from({ length: 400 }, (_, i) => i),
        (i) => Effect.either(gate.run(breaker.withBreaker(job(i)))),
        { concurrency: "unbounded" }
      )
      return { outcomes, peak, snapshot: yield* breaker.snapshot, status: yield* gate.status }
    })
    const { outcomes, peak, snapshot, status } = await Effect.runPromise(
      program.pipe(Effect.scoped, Effect.timeoutFail({ duration: "10 seconds", onTimeout: () => new Error("deadlock: not done in 10 s") }))
    )
    expect(outcomes.filter(Either.isRight).length).toBe(300)
    expect(peak).toBe(4)
    expect(snapshot).toMatchObject({ state: "closed", calls: 400, failures: 100 })
    expect(status).toMatchObject({ waiting: 0, running: 0 })
  })

  it("a gate whose token bucket runs dry on the live clock: the callers past it wait for refills and all complete", async () => {
    const r = 240 // a token every 250 ms once the bucket is spent
    const program = Effect.gen(function*() {
      const gate = yield* LoadControl.make({ concurrency: 3, requestsPerMinute: r })
      const started = yield* Clock.currentTimeMillis
      let inside = 0
      let peak = 0
      const done = yield* Effect.forEach(
        Array.from({ length: r + 2 }),
        () => gate.run(Effect.sync(() => peak = Math.max(peak, ++inside)).pipe(Effect.zipRight(Effect.yieldNow()), Effect.zipRight(Effect.sync(() => inside--)))),
        { concurrency: "unbounded" }
      )
      return { done: done.length, peak, status: yield* gate.status, tookMs: (yield* Clock.currentTimeMillis) - started }
    })
    const { done, peak, status, tookMs } = await Effect.runPromise(
      program.pipe(Effect.scoped, Effect.timeoutFail({ duration: "10 seconds", onTimeout: () => new Error("deadlock: not done in 10 s") }))
    )
    expect(done).toBe(r + 2)
    expect(peak).toBe(3)
    expect(status).toMatchObject({ waiting: 0, running: 0 })
    // two refills of 250 ms were waited for
    expect(tookMs).toBeGreaterThanOrEqual(2 * 250 - 10)
  })
})

describe("Concurrency: one model status", () => {
  it.scoped("3 400 observations recorded from as many fibers at once: probe counts, probe costs and traffic shares add up exactly; health changes form one chain", () =>
    Effect.gen(function*() {
      const status = yield* ModelStatus.make({
        lists: { image: [{ model: "a", vendor: "v" }, { model: "b", vendor: "w" }] },
        shareWindow: 100_000,
        unavailableAfter: 3
      })
      const changes = yield* collect(status.changes)
      const probe = (model: string, cost: number): ModelStatus.Observation => ({ model, outcome: "success", latencyMs: 800, probe: true, cost })
      const served = (model: string): ModelStatus.Observation => ({ model, outcome: "success", latencyMs: 1_000 })
      const failed = (model: string): ModelStatus.Observation => ({ model, outcome: "failure", latencyMs: 500, category: "hard", reason: "Overloaded" })
      const observations = scrambled([
        ...Array.from({ length: 1_000 }, () => probe("a", 0.25)),
        ...Array.from({ length: 700 }, () => served("a")),
        ...Array.from({ length: 600 }, () => failed("a")),
        ...Array.from({ length: 400 }, () => probe("b", 0.5)),
        ...Array.from({ length: 300 }, () => served("b")),
        ...Array.from({ length: 400 }, () => failed("b"))
      ])
      // runs of failures make models unavailable and successes bring them back: recording takes the slow, locked path too
      yield* Effect.forEach(
        observations,
        (o, i) => Effect.zipRight(Effect.repeatN(Effect.yieldNow(), i % 5), status.record(o)),
        { concurrency: "unbounded", discard: true }
      )
      const snapshot = yield* status.snapshot
      const byModel = Object.fromEntries(snapshot.models.map((m) => [m.model, m]))
      expect(byModel["a"]!.probes).toEqual({ count: 1_000, cost: 250 })
      expect(byModel["b"]!.probes).toEqual({ count: 400, cost: 200 })
      expect(byModel["a"]!.trafficShare).toBe(0.7)
      expect(byModel["b"]!.trafficShare).toBe(0.3)

      const seen = yield* changes
      expect(seen.length).toBeGreaterThan(0)
      for (const model of ["a", "b"]) {
        const own = seen.filter((c) => c.model === model)
        // each change starts where the one before it ended, and the last one is where the model is now
        own.forEach((c, i) => expect(c.from).toBe(i === 0 ? "normal" : own[i - 1]!.to))
        expect(own.length === 0 ? "normal" : own[own.length - 1]!.to).toBe(byModel[model]!.health)
      }
    }).pipe(Effect.provide(CircuitBreaker.layer())))
})
