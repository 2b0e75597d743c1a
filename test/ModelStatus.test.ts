import { describe, expect, it } from "@effect/vitest"
import { Cause, Effect, FastCheck, Logger, Option, Queue, type Scope, Stream, TestClock } from "effect"
import { headNow } from "./support/clock.js"
import * as CircuitBreaker from "../src/CircuitBreaker.js"
import { HardFailure } from "../src/Failure.js"
import * as ModelStatus from "../src/ModelStatus.js"

const PRO = "gemini-3-pro-image-preview"
const FLASH = "gemini-2.5-flash-image"
const SEEDREAM = "seedream-4.5"
const lists = {
  image: [
    { model: PRO, vendor: "google" },
    { model: FLASH, vendor: "google" },
    { model: SEEDREAM, vendor: "bytedance" }
  ]
}
const ok = (model: string, latencyMs: number): ModelStatus.Observation => ({ model, outcome: "success", latencyMs })
const fail = (model: string): ModelStatus.Observation => ({ model, outcome: "failure", latencyMs: 500, category: "hard", reason: "Overloaded" })
const healthOf = (s: ModelStatus.StatusSnapshot, model: string) => s.models.find((m) => m.model === model)!
const overloaded = (model: string) => new HardFailure({ reason: "Overloaded", provider: "p", model, status: 503, message: "busy" })

/** Collect a stream in the background; the returned effect reads what arrived so far. */
const collect = <A>(subscribe: Effect.Effect<Stream.Stream<A>, never, Scope.Scope>) =>
  Effect.gen(function*() {
    const seen: Array<A> = []
    yield* Stream.runForEach(yield* subscribe, (a) => Effect.sync(() => { seen.push(a) })).pipe(Effect.forkScoped)
    return Effect.as(Effect.repeatN(Effect.yieldNow(), 20), seen)
  })


/** An alert hook that hands every change to a queue the test takes from. */
const alertQueue = Effect.map(Queue.unbounded<ModelStatus.StatusChange>(), (queue) => ({
  onChange: (c: ModelStatus.StatusChange) => Queue.offer(queue, c),
  next: Effect.map(Queue.take(queue), (c) => `${c.model} ${c.from}→${c.to} (${c.reason})`)
}))

describe("ModelStatus", () => {
  it.scoped("delayed when recent latency exceeds twice the model's own baseline, normal again when it drops; the hook hears both", () =>
    Effect.gen(function*() {
      const alerts = yield* alertQueue
      const status = yield* ModelStatus.make({ lists, onChange: alerts.onChange })
      for (const ms of [28_000, 30_000, 32_000, 29_000, 31_000, 30_000]) yield* status.record(ok(PRO, ms))
      expect(healthOf(yield* status.snapshot, PRO)).toMatchObject({ health: "normal", baselineMs: 30_000 })
      yield* status.record(ok(PRO, 85_000))
      yield* status.record(ok(PRO, 90_000))
      expect(healthOf(yield* status.snapshot, PRO).health).toBe("normal") // two slow calls: the median rides them out
      yield* status.record(ok(PRO, 95_000))
      const slow = healthOf(yield* status.snapshot, PRO)
      expect(slow).toMatchObject({ health: "delayed", recentMs: 85_000, baselineMs: 30_000 }) // slow calls do not raise the bar
      expect(slow.reason).toBe("median 85.0 s > 2 × baseline 30.0 s")
      expect(yield* alerts.next).toBe(`${PRO} normal→delayed (median 85.0 s > 2 × baseline 30.0 s)`)
      for (const ms of [30_000, 31_000, 29_000]) yield* status.record(ok(PRO, ms))
      expect(healthOf(yield* status.snapshot, PRO).health).toBe("normal")
      expect(yield* alerts.next).toBe(`${PRO} delayed→normal (ok)`)
      expect(healthOf(yield* status.snapshot, PRO).ramp).toBeUndefined() // back from delayed: no ramp
    }).pipe(Effect.provide(CircuitBreaker.layer())))

  it.scoped("the factor is an option: with 3×, a call three times slower than the baseline is still normal", () =>
    Effect.gen(function*() {
      const status = yield* ModelStatus.make({ lists, delayedFactor: 3 })
      for (const ms of [30_000, 30_000, 30_000, 30_000, 30_000]) yield* status.record(ok(PRO, ms))
      for (const ms of [85_000, 85_000, 85_000]) yield* status.record(ok(PRO, ms))
      expect(healthOf(yield* status.snapshot, PRO).health).toBe("normal")
      for (const ms of [95_000, 95_000, 95_000]) yield* status.record(ok(PRO, ms))
      expect(healthOf(yield* status.snapshot, PRO)).toMatchObject({ health: "delayed", reason: "median 95.0 s > 3 × baseline 30.0 s" })
    }).pipe(Effect.provide(CircuitBreaker.layer())))

  it.scoped("unavailable after consecutive failures (of the kinds that say the model is down); a fallback serving is noted; one success brings it back and starts its ramp", () =>
    Effect.gen(function*() {
      const alerts = yield* alertQueue
      const status = yield* ModelStatus.make({ lists, onChange: alerts.onChange })
      yield* status.record(fail(PRO))
      yield* status.record(fail(PRO))
      yield* status.record(ok(PRO, 30_000)) // a success resets the count
      yield* status.record(fail(PRO))
      // a 400 or a filtered prompt: the model answered, which says nothing about its health
      yield* status.record({ model: PRO, outcome: "failure", latencyMs: 200, category: "hard", reason: "BadRequest" })
      yield* status.record({ model: PRO, outcome: "failure", latencyMs: 200, category: "soft", reason: "ContentFiltered" })
      yield* status.record(fail(PRO))
      expect(healthOf(yield* status.snapshot, PRO).health).toBe("normal")
      yield* status.record(fail(PRO))
      const down = yield* status.snapshot
      expect(healthOf(down, PRO)).toMatchObject({ health: "unavailable", reason: "3 consecutive failures", breaker: "closed" })
      expect(healthOf(down, FLASH).servingAsFallback).toBe(true)
      expect(healthOf(down, SEEDREAM).servingAsFallback).toBe(false)
      expect(down.notes).toEqual([`${FLASH} is serving in place of ${PRO}`])
      expect(yield* alerts.next).toBe(`${PRO} normal→unavailable (3 consecutive failures)`)
      yield* TestClock.adjust("10 minutes")
      yield* status.record(ok(PRO, 30_000))
      const back = yield* status.snapshot
      expect(healthOf(back, PRO)).toMatchObject({ health: "normal", recoveredAt: 600_000, ramp: 0.1 })
      expect(healthOf(back, FLASH).servingAsFallback).toBe(false)
      expect(back.notes).toEqual([`${PRO} is back: it takes 10 % of its traffic for now (failback ramp)`])
      expect(yield* alerts.next).toBe(`${PRO} unavailable→normal (ok)`)
    }).pipe(Effect.provide(CircuitBreaker.layer())))

  it.scoped("an open breaker makes the model unavailable at once, without any observation; half-open is still unavailable; changes and snapshots are streamed", () =>
    Effect.gen(function*() {
      const status = yield* ModelStatus.make({ lists })
      const changes = yield* collect(status.changes)
      const snapshots = yield* collect(status.snapshots)
      const breaker = yield* (yield* CircuitBreaker.CircuitBreakers).get(SEEDREAM)
      for (let i = 0; i < 5; i++) yield* Effect.either(breaker.withBreaker(Effect.fail(overloaded(SEEDREAM))))
      expect(yield* breaker.state).toBe("open")
      // nothing was recorded in the status: the breaker's transition alone did it
      const pushed = yield* snapshots
      expect(pushed.length).toBe(1)
      expect(healthOf(pushed[0]!, SEEDREAM)).toMatchObject({ health: "unavailable", reason: "breaker open", breaker: "open" })
      yield* TestClock.adjust("300 seconds")
      expect(healthOf(yield* status.snapshot, SEEDREAM)).toMatchObject({ health: "unavailable", breaker: "half-open" })
      yield* breaker.withBreaker(Effect.succeed("trial ok"))
      expect(healthOf(yield* status.snapshot, SEEDREAM)).toMatchObject({ health: "normal", breaker: "closed", ramp: 0.1 })
      expect((yield* changes).map((c) => `${c.from}→${c.to} (${c.reason})`)).toEqual([
        "normal→unavailable (breaker open)",
        "unavailable→normal (ok)"
      ])
      expect((yield* snapshots).map((s) => healthOf(s, SEEDREAM).health)).toContain("normal")
    }).pipe(Effect.provide(CircuitBreaker.layer())))

  it.scoped("changes and snapshots subscribe when they run: a change made at once after, before the stream is read, is its first element", () =>
    Effect.gen(function*() {
      // a breaker trips straight after make: the status has subscribed to the breakers by then
      const status = yield* ModelStatus.make({ lists })
      const changes = yield* status.changes
      const snapshots = yield* status.snapshots
      const breaker = yield* (yield* CircuitBreaker.CircuitBreakers).get(SEEDREAM)
      for (let i = 0; i < 5; i++) yield* Effect.either(breaker.withBreaker(Effect.fail(overloaded(SEEDREAM))))
      expect(yield* headNow(changes)).toEqual(Option.some({ model: SEEDREAM, from: "normal", to: "unavailable", at: 0, reason: "breaker open" }))
      expect(Option.map(yield* headNow(snapshots), (s) => healthOf(s, SEEDREAM).health)).toEqual(Option.some("unavailable"))
      // an observation likewise
      const later = yield* status.changes
      for (let i = 0; i < 3; i++) yield* status.record(fail(PRO))
      expect(Option.map(yield* headNow(later), (c) => `${c.model} ${c.from}→${c.to} (${c.reason})`))
        .toEqual(Option.some(`${PRO} normal→unavailable (3 consecutive failures)`))
    }).pipe(Effect.provide(CircuitBreaker.layer())))

  it.scoped("a failing or dying alert hook is logged and breaks nothing; the next change still reaches it", () => {
    const logged: Array<string> = []
    const capture = Logger.replace(Logger.defaultLogger, Logger.make(({ cause, message }) => {
      logged.push(`${String(Array.isArray(message) ? message[0] : message)} | ${Cause.pretty(cause)}`)
    }))
    return Effect.gen(function*() {
      const heard = yield* Queue.unbounded<string>()
      let calls = 0
      const status = yield* ModelStatus.make({
        lists,
        onChange: (c) => {
          calls++
          if (calls === 1) return Effect.fail("pager down")
          if (calls === 2) return Effect.die(new Error("pager bug"))
          return Queue.offer(heard, `${c.model} ${c.to}`)
        }
      })
      const changes = yield* collect(status.changes)
      for (let i = 0; i < 3; i++) yield* status.record(fail(SEEDREAM)) // → unavailable: hook fails
      yield* status.record(ok(SEEDREAM, 10_000)) // → normal: hook dies
      for (let i = 0; i < 3; i++) yield* status.record(fail(SEEDREAM)) // → unavailable: hook works
      expect(yield* Queue.take(heard)).toBe(`${SEEDREAM} unavailable`)
      expect(healthOf(yield* status.snapshot, SEEDREAM).health).toBe("unavailable")
      expect((yield* changes).map((c) => c.to)).toEqual(["unavailable", "normal", "unavailable"])
      expect(logged.filter((l) => l.includes("onChange hook failed"))).toHaveLength(2)
      expect(logged.join("\n")).toContain("pager down")
      expect(logged.join("\n")).toContain("pager bug")
    }).pipe(Effect.provide(CircuitBreaker.layer()), Effect.provide(capture))
  })

  it.scoped("a hook that never returns does not hold up recording", () =>
    Effect.gen(function*() {
      const status = yield* ModelStatus.make({ lists, onChange: () => Effect.never })
      for (let i = 0; i < 3; i++) yield* status.record(fail(SEEDREAM))
      yield* status.record(ok(SEEDREAM, 10_000))
      for (let i = 0; i < 3; i++) yield* status.record(fail(SEEDREAM))
      expect(healthOf(yield* status.snapshot, SEEDREAM).health).toBe("unavailable")
    }).pipe(Effect.provide(CircuitBreaker.layer())))

  it.scoped("every model of one vendor down: one vendor-wide outage, not separate model failures; it ends when one comes back", () =>
    Effect.gen(function*() {
      const status = yield* ModelStatus.make({ lists })
      for (let i = 0; i < 3; i++) yield* status.record(fail(PRO))
      const one = yield* status.snapshot
      expect(one.vendorOutages).toEqual([]) // the sibling is healthy: a model failure, not a vendor's
      expect(one.notes).toEqual([`${FLASH} is serving in place of ${PRO}`])
      yield* TestClock.adjust("1 minute")
      for (let i = 0; i < 3; i++) yield* status.record(fail(FLASH))
      const s = yield* status.snapshot
      expect(s.vendorOutages).toEqual([{ vendor: "google", since: 60_000, models: [PRO, FLASH] }])
      expect(s.notes).toEqual([
        `vendor-wide outage: google (${PRO}, ${FLASH} all unavailable)`,
        `${SEEDREAM} is serving in place of google (vendor-wide outage)`
      ])
      expect(healthOf(s, SEEDREAM).servingAsFallback).toBe(true)
      yield* status.record(ok(FLASH, 4_000))
      const after = yield* status.snapshot
      expect(after.vendorOutages).toEqual([])
      expect(after.notes).toContain(`${FLASH} is serving in place of ${PRO}`)
    }).pipe(Effect.provide(CircuitBreaker.layer())))

  it.scoped("after 2 h without recovery the best available fallback is promoted (pushed without being asked); it holds until the primary is normal again", () =>
    Effect.gen(function*() {
      // no trial share here: every order is the promoted one
      const status = yield* ModelStatus.make({ lists, promotionTrial: 0 })
      const snapshots = yield* collect(status.snapshots)
      for (const ms of [30_000, 30_000, 30_000, 30_000, 30_000, 90_000, 90_000, 90_000]) yield* status.record(ok(PRO, ms))
      expect(healthOf(yield* status.snapshot, PRO).health).toBe("delayed") // an overloaded model slows down before it fails (30 s calls grow to 90 s)
      for (let i = 0; i < 3; i++) yield* status.record(fail(PRO))
      for (let i = 0; i < 3; i++) yield* status.record(fail(FLASH))
      yield* TestClock.adjust("119 minutes")
      expect(yield* status.order("image")).toEqual([PRO, FLASH, SEEDREAM])
      yield* TestClock.adjust("1 minute")
      // the timer published it: no one asked for a snapshot
      const pushed = yield* snapshots
      expect(pushed[pushed.length - 1]!.promotions).toEqual([{ from: PRO, to: SEEDREAM, since: 7_200_000 }])
      expect(yield* status.order("image")).toEqual([SEEDREAM, PRO, FLASH])
      expect((yield* status.snapshot).notes).toContain(`${SEEDREAM} promoted to primary of image: ${PRO} unavailable for over 2h`)
      // the promoted model fails: the next available one takes its place
      yield* status.record(ok(FLASH, 4_000))
      for (let i = 0; i < 3; i++) yield* status.record(fail(SEEDREAM))
      expect(yield* status.order("image")).toEqual([FLASH, PRO, SEEDREAM])
      // the primary comes back but slow (it was slow before it failed): still promoted
      yield* status.record(ok(PRO, 90_000))
      expect(healthOf(yield* status.snapshot, PRO).health).toBe("delayed")
      expect(yield* status.order("image")).toEqual([FLASH, PRO, SEEDREAM])
      for (let i = 0; i < 3; i++) yield* status.record(ok(PRO, 30_000))
      expect(healthOf(yield* status.snapshot, PRO).health).toBe("normal")
      expect(yield* status.order("image")).toEqual([PRO, FLASH, SEEDREAM])
      expect((yield* status.snapshot).promotions).toEqual([])
    }).pipe(Effect.provide(CircuitBreaker.layer())))

  it.scoped("while a promotion holds, a small share of calls still tries the primary first, so a primary nobody probes can end it", () =>
    Effect.gen(function*() {
      const status = yield* ModelStatus.make({ lists, promotionTrial: 0.1 })
      for (let i = 0; i < 3; i++) yield* status.record(fail(PRO))
      yield* TestClock.adjust("2 hours")
      let primaryFirst = 0
      for (let i = 0; i < 2000; i++) if ((yield* status.order("image"))[0] === PRO) primaryFirst++
      // about one in ten (drawn from Random)
      expect(primaryFirst).toBeGreaterThan(120)
      expect(primaryFirst).toBeLessThan(280)
      // those trial calls succeed: the primary is normal again and the promotion ends
      for (let i = 0; i < 3; i++) yield* status.record(ok(PRO, 30_000))
      expect((yield* status.snapshot).promotions).toEqual([])
      for (let i = 0; i < 20; i++) expect(yield* status.order("image")).toEqual([PRO, FLASH, SEEDREAM])
    }).pipe(Effect.provide(CircuitBreaker.layer())))

  it.scoped("the failback ramp: shown per model, a snapshot pushed at each step, configurable", () =>
    Effect.gen(function*() {
      const status = yield* ModelStatus.make({ lists, ramp: { shares: [0.2, 0.6], step: "2 minutes" } })
      const snapshots = yield* collect(status.snapshots)
      for (let i = 0; i < 3; i++) yield* status.record(fail(PRO))
      expect(yield* status.ramp(PRO)).toBeUndefined() // unavailable: not ramping
      yield* status.record(ok(PRO, 30_000))
      const seen: Array<number | undefined> = []
      for (let minute = 0; minute < 6; minute++) {
        seen.push(yield* status.ramp(PRO))
        yield* TestClock.adjust("1 minute")
      }
      expect(seen).toEqual([0.2, 0.2, 0.6, 0.6, undefined, undefined])
      const ramps = (yield* snapshots).map((s) => healthOf(s, PRO).ramp)
      expect(ramps.slice(-3)).toEqual([0.2, 0.6, undefined]) // recovery, then one push per step
      expect(healthOf(yield* status.snapshot, FLASH).ramp).toBeUndefined() // never went down
    }).pipe(Effect.provide(CircuitBreaker.layer())))

  it.scoped("many fibers recording at once: no lost updates (traffic shares and failure counts add up, probes counted)", () =>
    Effect.gen(function*() {
      const status = yield* ModelStatus.make({ lists, shareWindow: 1_000, unavailableAfter: 200 })
      const breaker = yield* (yield* CircuitBreaker.CircuitBreakers).get(FLASH)
      const n = Array.from({ length: 300 }, (_, i) => i)
      yield* Effect.forEach(n, (i) =>
        Effect.zipRight(
          i % 50 === 0 ? breaker.withBreaker(Effect.succeed(1)) : Effect.void, // breaker changes interleaved
          status.record(i % 3 === 0 ? ok(SEEDREAM, 15_000) : ok(FLASH, 4_000))
        ), { concurrency: "unbounded" })
      yield* Effect.forEach(n.slice(0, 20), () =>
        status.record({ model: PRO, outcome: "success", latencyMs: 30_000, probe: true, cost: 0.134 }), { concurrency: "unbounded" })
      yield* Effect.forEach(n.slice(0, 199), () => status.record(fail(SEEDREAM)), { concurrency: "unbounded" })
      expect(healthOf(yield* status.snapshot, SEEDREAM).health).toBe("normal") // 199 < 200
      yield* Effect.forEach(n.slice(0, 2), () => status.record(fail(SEEDREAM)), { concurrency: "unbounded" })
      const s = yield* status.snapshot
      expect(healthOf(s, SEEDREAM).trafficShare).toBeCloseTo(1 / 3, 10)
      expect(healthOf(s, FLASH).trafficShare).toBeCloseTo(2 / 3, 10)
      expect(healthOf(s, PRO).probes).toEqual({ count: 20, cost: expect.closeTo(2.68, 9) })
      expect(healthOf(s, PRO).trafficShare).toBe(0) // probes are not traffic
      expect(healthOf(s, SEEDREAM).reason).toBe("201 consecutive failures")
    }).pipe(
      Effect.provide(CircuitBreaker.layer()),
      Effect.withMaxOpsBeforeYield(16) // fibers yield every few steps: updates interleave (without the lock this loses some)
    ))
})

describe("ModelStatus samples (kept in ring buffers, medians kept sorted)", () => {
  const median = (values: ReadonlyArray<number>) => {
    if (values.length === 0) return undefined
    const sorted = [...values].sort((a, b) => a - b)
    const mid = sorted.length >> 1
    return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
  }
  const models = [PRO, FLASH, SEEDREAM]

  it.effect.prop(
    "baseline and recent medians are those of the last calls, and traffic shares those of the last served requests, whatever the sequence",
    [
      FastCheck.integer({ min: 1, max: 8 }),
      FastCheck.integer({ min: 1, max: 6 }),
      FastCheck.integer({ min: 1, max: 10 }),
      FastCheck.array(FastCheck.tuple(FastCheck.integer({ min: 0, max: 2 }), FastCheck.integer({ min: 0, max: 20 }), FastCheck.boolean()), { maxLength: 60 })
    ],
    ([baselineSamples, recentSamples, shareWindow, calls]) =>
      Effect.gen(function*() {
        // a factor no latency here can reach: every success is healthy, so each enters the baseline
        const status = yield* ModelStatus.make({ lists, baselineSamples, recentSamples, shareWindow, delayedFactor: 1e9 })
        const seen = new Map<string, Array<number>>(models.map((m) => [m, []]))
        const served: Array<string> = []
        for (const [i, latencyMs, probe] of calls) {
          const model = models[i]!
          yield* status.record({ ...ok(model, latencyMs), probe })
          seen.get(model)!.push(latencyMs)
          if (!probe) served.push(model)
        }
        const snapshot = yield* status.snapshot
        const window = served.slice(-shareWindow)
        for (const model of models) {
          const h = healthOf(snapshot, model)
          expect(h.baselineMs).toBe(median(seen.get(model)!.slice(-baselineSamples)))
          expect(h.recentMs).toBe(median(seen.get(model)!.slice(-recentSamples)))
          expect(h.trafficShare).toBe(window.length === 0 ? 0 : window.filter((m) => m === model).length / window.length)
        }
      }).pipe(Effect.provide(CircuitBreaker.layer()), Effect.scoped)
  )
})
