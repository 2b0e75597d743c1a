import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Random, Ref, TestClock } from "effect"
import * as CircuitBreaker from "../src/CircuitBreaker.js"
import { HardFailure } from "../src/Failure.js"
import * as HealthProbe from "../src/HealthProbe.js"
import * as ModelStatus from "../src/ModelStatus.js"
import { Message, TextRequest } from "../src/TextGeneration.js"
import { settle } from "./support/clock.js"
import { HttpLive, startSimulator } from "./support/simulator.js"

const lists = { text: [{ model: "primary", vendor: "a" }, { model: "backup", vendor: "b" }] }
const overloaded = (model: string) => new HardFailure({ reason: "Overloaded", provider: "p", model, status: 503, message: "busy" })

/** A probe that fails while `down` is true, counting its calls. */
const scriptedProbe = (model: string, cost: number) =>
  Effect.gen(function*() {
    const down = yield* Ref.make(true)
    const calls = yield* Ref.make(0)
    const run = Effect.flatMap(Ref.updateAndGet(calls, (n) => n + 1), () =>
      Effect.flatMap(Ref.get(down), (d) => (d ? Effect.fail(overloaded(model)) : Effect.succeed("pong"))))
    return { probe: { model, run, cost }, down, calls: Ref.get(calls) }
  })

const Setup = Layer.provideMerge(ModelStatus.layer({ lists }), CircuitBreaker.layer({ consecutiveFailures: 100, minimumCalls: 100 }))

describe("HealthProbe", () => {
  it.scoped("an available model is not probed", () =>
    Effect.gen(function*() {
      const p = yield* scriptedProbe("primary", 0.01)
      yield* HealthProbe.make({ probes: [p.probe] })
      yield* TestClock.adjust("10 minutes")
      expect(yield* p.calls).toBe(0)
    }).pipe(Effect.provide(Setup)))

  it.scoped("an unavailable model is probed once per interval, failed probes cost nothing, and a successful probe brings it back", () =>
    Effect.gen(function*() {
      const status = yield* ModelStatus.ModelStatus
      const p = yield* scriptedProbe("primary", 0.01)
      const probes = yield* HealthProbe.make({ probes: [p.probe], interval: "1 minute" })
      for (let i = 0; i < 3; i++) yield* status.record({ model: "primary", outcome: "failure", latencyMs: 1, reason: "Overloaded" })
      yield* TestClock.adjust("3 minutes")
      expect(yield* p.calls).toBe(3)
      expect((yield* probes.sent).get("primary")).toEqual({ count: 3, cost: 0 })
      yield* Ref.set(p.down, false)
      yield* TestClock.adjust("1 minute")
      expect(yield* p.calls).toBe(4)
      const primary = (yield* status.snapshot).models.find((m) => m.model === "primary")!
      expect(primary.health).toBe("normal")
      expect(primary.probes).toEqual({ count: 4, cost: 0.01 })
      expect(primary.trafficShare).toBe(0) // probes are not traffic
      yield* TestClock.adjust("5 minutes")
      expect(yield* p.calls).toBe(4) // back to normal: no more probes
    }).pipe(Effect.provide(Setup)))

  it.scoped("after a recovery traffic moves back in steps: 10 %, 25 %, 50 %, then all", () =>
    Effect.gen(function*() {
      const status = yield* ModelStatus.ModelStatus
      const probes = yield* HealthProbe.make({ probes: [] })
      for (let i = 0; i < 3; i++) yield* status.record({ model: "primary", outcome: "failure", latencyMs: 1, reason: "Overloaded" })
      expect(yield* probes.ramp("primary")).toBeUndefined()
      yield* status.record({ model: "primary", outcome: "success", latencyMs: 1 })
      const shares: Array<number | undefined> = []
      const admitted: Array<number> = []
      for (let minute = 0; minute < 5; minute++) {
        shares.push(yield* probes.ramp("primary"))
        let n = 0
        for (let i = 0; i < 1000; i++) if (yield* probes.admit("primary")) n++
        admitted.push(n)
        yield* TestClock.adjust("1 minute")
      }
      expect(shares).toEqual([0.1, 0.25, 0.5, 1, undefined])
      expect(admitted[0]).toBeGreaterThan(60)
      expect(admitted[0]).toBeLessThan(140)
      expect(admitted[2]).toBeGreaterThan(430)
      expect(admitted[2]).toBeLessThan(570)
      expect(admitted.slice(3)).toEqual([1000, 1000])
      expect(yield* probes.admit("backup")).toBe(true) // a model that never went down is not ramped
    }).pipe(Effect.provide(Setup), Effect.withRandom(Random.make("ramp-seed"))))

  it.scoped("a probe goes through the breaker: none while it is open, and the first one after the open time closes it", () =>
    Effect.gen(function*() {
      const p = yield* scriptedProbe("primary", 0)
      const breaker = yield* (yield* CircuitBreaker.CircuitBreakers).get("primary")
      yield* HealthProbe.make({ probes: [p.probe], interval: "1 minute" })
      for (let i = 0; i < 5; i++) yield* Effect.either(breaker.withBreaker(Effect.fail(overloaded("primary"))))
      expect(yield* breaker.state).toBe("open")
      yield* Ref.set(p.down, false)
      yield* TestClock.adjust("4 minutes")
      expect(yield* p.calls).toBe(0) // 300 s open time not over
      yield* TestClock.adjust("1 minute")
      expect(yield* p.calls).toBe(1)
      expect(yield* breaker.state).toBe("closed")
    }).pipe(Effect.provide(Layer.provideMerge(ModelStatus.layer({ lists }), CircuitBreaker.layer()))))

  it.scoped("over real HTTP: probes of a model the simulator has taken down fail until it is back, then it is normal", () =>
    Effect.gen(function*() {
      const { openai, sim } = yield* startSimulator()
      const status = yield* ModelStatus.ModelStatus
      yield* sim.setOverride("gpt-4.1-mini", "overloaded")
      const ping = TextRequest.make({ model: "gpt-4.1-mini", messages: [Message.make({ role: "user", content: "ping" })], maxTokens: 1 })
      yield* HealthProbe.make({ probes: [{ model: "gpt-4.1-mini", run: openai.generateText(ping), cost: 0.0001 }], interval: "1 minute" })
      for (let i = 0; i < 3; i++) yield* status.record({ model: "gpt-4.1-mini", outcome: "failure", latencyMs: 1, reason: "Overloaded" })
      yield* settle(Effect.void.pipe(Effect.delay("150 seconds")), "10 seconds", 100)
      expect((yield* status.snapshot).models[0]).toMatchObject({ health: "unavailable", probes: { count: 2, cost: 0 } })
      yield* sim.setOverride("gpt-4.1-mini", undefined)
      yield* settle(Effect.void.pipe(Effect.delay("60 seconds")), "10 seconds", 100)
      expect((yield* status.snapshot).models[0]).toMatchObject({ health: "normal", probes: { count: 3, cost: 0.0001 } })
    }).pipe(Effect.provide(Layer.merge(
      Layer.provideMerge(ModelStatus.layer({ lists: { text: [{ model: "gpt-4.1-mini", vendor: "openai" }] } }), CircuitBreaker.layer({ consecutiveFailures: 100, minimumCalls: 100 })),
      HttpLive
    ))))
})
