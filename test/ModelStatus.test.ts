import { describe, expect, it } from "@effect/vitest"
import { Chunk, Effect, Fiber, Stream, TestClock } from "effect"
import * as CircuitBreaker from "../src/CircuitBreaker.js"
import { HardFailure } from "../src/Failure.js"
import * as ModelStatus from "../src/ModelStatus.js"

const lists = {
  image: [
    { model: "gemini-3-pro-image-preview", vendor: "google" },
    { model: "gemini-2.5-flash-image", vendor: "google" },
    { model: "seedream-4.5", vendor: "bytedance" }
  ]
}
const ok = (model: string, latencyMs: number): ModelStatus.Observation => ({ model, outcome: "success", latencyMs })
const fail = (model: string): ModelStatus.Observation => ({ model, outcome: "failure", latencyMs: 500, category: "hard", reason: "Overloaded" })
const healthOf = (s: ModelStatus.StatusSnapshot, model: string) => s.models.find((m) => m.model === model)!

describe("ModelStatus", () => {
  it.scoped("delayed when recent latency exceeds twice the model's own baseline, normal again when it drops", () =>
    Effect.gen(function*() {
      const changes: Array<string> = []
      const status = yield* ModelStatus.make({ lists, onChange: (c) => Effect.sync(() => { changes.push(`${c.model} ${c.from}→${c.to}`) }) })
      const primary = "gemini-3-pro-image-preview"
      for (const ms of [28_000, 30_000, 32_000, 29_000, 31_000, 30_000]) yield* status.record(ok(primary, ms))
      expect(healthOf(yield* status.snapshot, primary)).toMatchObject({ health: "normal", baselineMs: 30_000 })
      for (const ms of [85_000, 90_000, 95_000]) yield* status.record(ok(primary, ms))
      const slow = healthOf(yield* status.snapshot, primary)
      expect(slow.health).toBe("delayed")
      expect(slow.reason).toMatch(/> 2 × baseline 30\.0 s/)
      expect(slow.baselineMs).toBe(30_000) // slow calls do not raise the bar
      for (const ms of [30_000, 31_000, 29_000, 30_000]) yield* status.record(ok(primary, ms))
      expect(healthOf(yield* status.snapshot, primary).health).toBe("normal")
      expect(changes).toEqual([`${primary} normal→delayed`, `${primary} delayed→normal`])
    }).pipe(Effect.provide(CircuitBreaker.layer())))

  it.scoped("unavailable after consecutive failures; one success brings it back; a fallback serving is noted", () =>
    Effect.gen(function*() {
      const status = yield* ModelStatus.make({ lists })
      const primary = "gemini-3-pro-image-preview"
      yield* status.record(fail(primary))
      yield* status.record(fail(primary))
      expect(healthOf(yield* status.snapshot, primary).health).toBe("normal")
      yield* status.record(fail(primary))
      const down = yield* status.snapshot
      expect(healthOf(down, primary)).toMatchObject({ health: "unavailable", reason: "3 consecutive failures" })
      expect(healthOf(down, "gemini-2.5-flash-image").servingAsFallback).toBe(true)
      expect(down.notes).toContain("gemini-2.5-flash-image is serving in place of gemini-3-pro-image-preview")
      yield* status.record(ok(primary, 30_000))
      expect(healthOf(yield* status.snapshot, primary).health).toBe("normal")
    }).pipe(Effect.provide(CircuitBreaker.layer())))

  it.scoped("an open breaker makes the model unavailable at once, without any observation, and the change is streamed", () =>
    Effect.gen(function*() {
      const status = yield* ModelStatus.make({ lists })
      const seen = yield* status.changes.pipe(Stream.take(2), Stream.runCollect, Effect.fork)
      yield* Effect.repeatN(Effect.yieldNow(), 20) // let the subscriber subscribe
      const breaker = yield* (yield* CircuitBreaker.CircuitBreakers).get("seedream-4.5")
      const overloaded = new HardFailure({ reason: "Overloaded", provider: "p", model: "seedream-4.5", status: 503, message: "busy" })
      for (let i = 0; i < 5; i++) yield* Effect.either(breaker.withBreaker(Effect.fail(overloaded)))
      expect(yield* breaker.state).toBe("open")
      expect(healthOf(yield* status.snapshot, "seedream-4.5")).toMatchObject({ health: "unavailable", reason: "breaker open", breaker: "open" })
      yield* TestClock.adjust("300 seconds")
      yield* breaker.withBreaker(Effect.succeed("probe ok"))
      expect(healthOf(yield* status.snapshot, "seedream-4.5").health).toBe("normal")
      const changes = Chunk.toReadonlyArray(yield* Fiber.join(seen)).map((c) => `${c.from}→${c.to} (${c.reason})`)
      expect(changes).toEqual(["normal→unavailable (breaker open)", "unavailable→normal (ok)"])
    }).pipe(Effect.provide(CircuitBreaker.layer())))

  it.scoped("a failing alert hook is logged and changes nothing", () =>
    Effect.gen(function*() {
      const status = yield* ModelStatus.make({ lists, onChange: () => Effect.fail("pager down") })
      for (let i = 0; i < 3; i++) yield* status.record(fail("seedream-4.5"))
      expect(healthOf(yield* status.snapshot, "seedream-4.5").health).toBe("unavailable")
    }).pipe(Effect.provide(CircuitBreaker.layer())))

  it.scoped("every model of one vendor down: one vendor-wide outage, not two model failures", () =>
    Effect.gen(function*() {
      const status = yield* ModelStatus.make({ lists })
      for (const model of ["gemini-3-pro-image-preview", "gemini-2.5-flash-image"]) {
        for (let i = 0; i < 3; i++) yield* status.record(fail(model))
      }
      const s = yield* status.snapshot
      expect(s.vendorOutages.map((o) => [o.vendor, o.models])).toEqual([["google", ["gemini-3-pro-image-preview", "gemini-2.5-flash-image"]]])
      expect(s.notes).toContain("seedream-4.5 is serving in place of google (vendor-wide outage)")
    }).pipe(Effect.provide(CircuitBreaker.layer())))

  it.scoped("after 2 h without recovery the fallback is promoted to primary; recovery undoes it", () =>
    Effect.gen(function*() {
      const status = yield* ModelStatus.make({ lists })
      const primary = "gemini-3-pro-image-preview"
      for (let i = 0; i < 3; i++) yield* status.record(fail(primary))
      yield* TestClock.adjust("119 minutes")
      expect(yield* status.order("image")).toEqual(lists.image.map((m) => m.model))
      yield* TestClock.adjust("1 minute")
      expect(yield* status.order("image")).toEqual(["gemini-2.5-flash-image", primary, "seedream-4.5"])
      expect((yield* status.snapshot).promotions).toMatchObject([{ from: primary, to: "gemini-2.5-flash-image" }])
      yield* status.record(ok(primary, 30_000))
      expect(yield* status.order("image")).toEqual(lists.image.map((m) => m.model))
    }).pipe(Effect.provide(CircuitBreaker.layer())))

  it.scoped("many fibers recording at once: no lost updates (traffic shares add up, probes counted)", () =>
    Effect.gen(function*() {
      const status = yield* ModelStatus.make({ lists, shareWindow: 1_000 })
      yield* Effect.forEach(Array.from({ length: 300 }, (_, i) => i), (i) =>
        status.record(i % 3 === 0 ? ok("seedream-4.5", 15_000) : ok("gemini-2.5-flash-image", 4_000)), { concurrency: "unbounded" })
      yield* Effect.forEach(Array.from({ length: 20 }, () => 0), () =>
        status.record({ model: "gemini-3-pro-image-preview", outcome: "success", latencyMs: 30_000, probe: true, cost: 0.134 }), { concurrency: "unbounded" })
      const s = yield* status.snapshot
      expect(healthOf(s, "seedream-4.5").trafficShare).toBeCloseTo(1 / 3, 10)
      expect(healthOf(s, "gemini-2.5-flash-image").trafficShare).toBeCloseTo(2 / 3, 10)
      expect(healthOf(s, "gemini-3-pro-image-preview").probes).toEqual({ count: 20, cost: expect.closeTo(2.68, 9) })
      expect(healthOf(s, "gemini-3-pro-image-preview").trafficShare).toBe(0) // probes are not traffic
    }).pipe(Effect.provide(CircuitBreaker.layer())))
})
