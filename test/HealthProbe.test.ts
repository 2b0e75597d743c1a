import { HttpClient } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Cause, Clock, ConfigProvider, Console, Effect, Fiber, Layer, Random, Ref, TestClock } from "effect"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as CircuitBreaker from "../src/CircuitBreaker.js"
import { cli } from "../src/Cli.js"
import { type GenerationFailure, HardFailure, SoftFailure } from "../src/Failure.js"
import * as HealthProbe from "../src/HealthProbe.js"
import * as ModelStatus from "../src/ModelStatus.js"
import { Message, TextRequest } from "../src/TextGeneration.js"
import * as ResilientClient from "../src/ResilientClient.js"
import * as RetryPolicy from "../src/RetryPolicy.js"
import { ioTurn, settle } from "./support/clock.js"
import { HttpLive, KEY, startSimulator } from "./support/simulator.js"

const lists = { text: [{ model: "primary", vendor: "a" }, { model: "backup", vendor: "b" }] }
const overloaded = (model: string) => new HardFailure({ reason: "Overloaded", provider: "p", model, status: 503, message: "busy" })
const down = (model: string): ModelStatus.Observation => ({ model, outcome: "failure", latencyMs: 1, category: "hard", reason: "Overloaded" })
const healthOf = (s: ModelStatus.StatusSnapshot, model: string) => s.models.find((m) => m.model === model)!

/** A probe answered with `answer` while `down` is true (503 by default), "pong" otherwise; it counts its calls. */
const scriptedProbe = (model: string, cost: number, answer: GenerationFailure = overloaded(model)) =>
  Effect.gen(function*() {
    const isDown = yield* Ref.make(true)
    const calls = yield* Ref.make(0)
    const run = Effect.flatMap(Ref.updateAndGet(calls, (n) => n + 1), () =>
      Effect.flatMap(Ref.get(isDown), (d) => (d ? Effect.fail(answer) : Effect.succeed("pong"))))
    return { probe: { model, run, cost }, down: isDown, calls: Ref.get(calls) }
  })

/** Breakers that never open on their own here: unavailability comes from recorded failures. */
const Setup = Layer.provideMerge(ModelStatus.layer({ lists }), CircuitBreaker.layer({ consecutiveFailures: 100, minimumCalls: 100 }))

describe("HealthProbe", () => {
  it.scoped("a model that is available (normal or delayed) is never probed", () =>
    Effect.gen(function*() {
      const status = yield* ModelStatus.ModelStatus
      const p = yield* scriptedProbe("primary", 0.01)
      yield* HealthProbe.make({ probes: [p.probe] })
      yield* TestClock.adjust("10 minutes")
      for (const ms of [1_000, 1_000, 1_000, 1_000, 1_000, 5_000, 5_000, 5_000]) {
        yield* status.record({ model: "primary", outcome: "success", latencyMs: ms })
      }
      expect(healthOf(yield* status.snapshot, "primary").health).toBe("delayed")
      yield* TestClock.adjust("10 minutes")
      expect(yield* p.calls).toBe(0)
    }).pipe(Effect.provide(Setup)))

  it.scoped("an unavailable model is probed once per interval; failed probes cost nothing; a successful one brings it back and probing stops", () =>
    Effect.gen(function*() {
      const status = yield* ModelStatus.ModelStatus
      const p = yield* scriptedProbe("primary", 0.01)
      const probes = yield* HealthProbe.make({ probes: [p.probe], interval: "1 minute" })
      for (let i = 0; i < 3; i++) yield* status.record(down("primary"))
      yield* TestClock.adjust("59 seconds")
      expect(yield* p.calls).toBe(0)
      yield* TestClock.adjust("1 second")
      expect(yield* p.calls).toBe(1)
      yield* TestClock.adjust("2 minutes")
      expect(yield* p.calls).toBe(3)
      expect((yield* probes.sent).get("primary")).toEqual({ count: 3, cost: 0 }) // a 503 is not billed
      expect(healthOf(yield* status.snapshot, "primary")).toMatchObject({ health: "unavailable", probes: { count: 3, cost: 0 } })
      yield* Ref.set(p.down, false)
      yield* TestClock.adjust("1 minute")
      expect(yield* p.calls).toBe(4)
      const primary = healthOf(yield* status.snapshot, "primary")
      expect(primary).toMatchObject({ health: "normal", probes: { count: 4, cost: 0.01 }, ramp: 0.1 })
      expect(primary.trafficShare).toBe(0) // probes are not traffic
      yield* TestClock.adjust("10 minutes")
      expect(yield* p.calls).toBe(4) // back to normal: no more probes
    }).pipe(Effect.provide(Setup)))

  it.scoped("a probe that is answered but not usable (a filtered prompt) is billed, and does not bring the model back", () =>
    Effect.gen(function*() {
      const status = yield* ModelStatus.ModelStatus
      const filtered = new SoftFailure({ reason: "ContentFiltered", provider: "p", model: "primary", message: "blocked" })
      const p = yield* scriptedProbe("primary", 0.02, filtered)
      yield* HealthProbe.make({ probes: [p.probe], interval: "1 minute" })
      for (let i = 0; i < 3; i++) yield* status.record(down("primary"))
      yield* TestClock.adjust("2 minutes")
      expect(healthOf(yield* status.snapshot, "primary")).toMatchObject({ health: "unavailable", probes: { count: 2, cost: 0.04 } })
    }).pipe(Effect.provide(Setup)))

  it.scoped("several models are probed each at its own limited rate; only the unavailable ones", () =>
    Effect.gen(function*() {
      const status = yield* ModelStatus.ModelStatus
      const a = yield* scriptedProbe("primary", 0.01)
      const b = yield* scriptedProbe("backup", 0.01)
      yield* HealthProbe.make({ probes: [a.probe, b.probe], interval: "30 seconds" })
      for (let i = 0; i < 3; i++) yield* status.record(down("backup"))
      yield* TestClock.adjust("5 minutes")
      expect([yield* a.calls, yield* b.calls]).toEqual([0, 10])
    }).pipe(Effect.provide(Setup)))

  it.scoped("after a recovery traffic moves back in steps: 10 %, 25 %, 50 %, then all (seeded Random: reproducible)", () =>
    Effect.gen(function*() {
      const status = yield* ModelStatus.ModelStatus
      const probes = yield* HealthProbe.make({ probes: [] })
      for (let i = 0; i < 3; i++) yield* status.record(down("primary"))
      expect(yield* probes.ramp("primary")).toBeUndefined()
      expect(yield* probes.admit("primary")).toBe(true) // unavailable is not ramping: the breaker decides
      yield* status.record({ model: "primary", outcome: "success", latencyMs: 1 })
      const shares: Array<number | undefined> = []
      const shown: Array<number | undefined> = []
      const admitted: Array<number> = []
      for (let minute = 0; minute < 5; minute++) {
        shares.push(yield* probes.ramp("primary"))
        shown.push(healthOf(yield* status.snapshot, "primary").ramp)
        let n = 0
        for (let i = 0; i < 1000; i++) if (yield* probes.admit("primary")) n++
        admitted.push(n)
        yield* TestClock.adjust("1 minute")
      }
      expect(shares).toEqual([0.1, 0.25, 0.5, 1, undefined])
      expect(shown).toEqual(shares)
      expect(admitted[0]).toBeGreaterThan(70)
      expect(admitted[0]).toBeLessThan(130)
      expect(admitted[1]).toBeGreaterThan(200)
      expect(admitted[1]).toBeLessThan(300)
      expect(admitted[2]).toBeGreaterThan(440)
      expect(admitted[2]).toBeLessThan(560)
      expect(admitted.slice(3)).toEqual([1000, 1000])
      expect(yield* probes.admit("backup")).toBe(true) // a model that never went down is not ramped
      return admitted
    }).pipe(
      Effect.provide(Setup),
      Effect.withRandom(Random.make("ramp-seed")),
      Effect.flatMap((first) =>
        // the same seed, the same decisions
        Effect.gen(function*() {
          const status = yield* ModelStatus.ModelStatus
          const probes = yield* HealthProbe.make({ probes: [] })
          for (let i = 0; i < 3; i++) yield* status.record(down("primary"))
          yield* status.record({ model: "primary", outcome: "success", latencyMs: 1 })
          let n = 0
          for (let i = 0; i < 1000; i++) if (yield* probes.admit("primary")) n++
          expect(n).toBe(first[0])
        }).pipe(Effect.provide(Setup), Effect.withRandom(Random.make("ramp-seed")))
      )
    ))

  it.scoped("a probe goes through the breaker: none while it is open; after the open time it is the trial call — failing re-opens, succeeding closes", () =>
    Effect.gen(function*() {
      const status = yield* ModelStatus.ModelStatus
      const p = yield* scriptedProbe("primary", 0.01)
      const breaker = yield* (yield* CircuitBreaker.CircuitBreakers).get("primary")
      yield* HealthProbe.make({ probes: [p.probe], interval: "1 minute" })
      for (let i = 0; i < 5; i++) yield* Effect.either(breaker.withBreaker(Effect.fail(overloaded("primary"))))
      expect(yield* breaker.state).toBe("open")
      yield* TestClock.adjust("4 minutes")
      expect(yield* p.calls).toBe(0) // 300 s open time not over
      yield* TestClock.adjust("1 minute")
      expect(yield* p.calls).toBe(1) // the trial call, still failing
      expect(yield* breaker.state).toBe("open") // re-opened, for 600 s now
      yield* Ref.set(p.down, false)
      yield* TestClock.adjust("9 minutes")
      expect(yield* p.calls).toBe(1)
      yield* TestClock.adjust("1 minute")
      expect(yield* p.calls).toBe(2)
      expect(yield* breaker.state).toBe("closed")
      expect(healthOf(yield* status.snapshot, "primary")).toMatchObject({ health: "normal", ramp: 0.1, probes: { count: 2, cost: 0.01 } })
    }).pipe(Effect.provide(Layer.provideMerge(ModelStatus.layer({ lists }), CircuitBreaker.layer()))))

  it.scoped("over real HTTP: the simulator takes a model down → its breaker opens → probes fail → it comes back → a probe closes the breaker → the ramp → all traffic", () =>
    Effect.gen(function*() {
      const { gemini, openai, sim } = yield* startSimulator()
      const status = yield* ModelStatus.ModelStatus
      const breakers = yield* CircuitBreaker.CircuitBreakers
      const request = (model: string) => TextRequest.make({ model, messages: [Message.make({ role: "user", content: "ping" })], maxTokens: 1 })
      const probes = yield* HealthProbe.make({
        probes: [{ model: "gpt-4.1-mini", run: openai.generateText(request("gpt-4.1-mini")), cost: 0.0001 }],
        interval: "1 minute"
      })
      /** A request through the two-model chain the integrator builds: breaker, ramp, fallback; recorded as traffic. */
      const serve = Effect.gen(function*() {
        for (const [model, adapter] of [["gpt-4.1-mini", openai], ["gemini-2.5-flash", gemini]] as const) {
          const breaker = yield* breakers.get(model)
          if ((yield* breaker.state) === "open" || !(yield* probes.admit(model))) continue
          const t0 = yield* Clock.currentTimeMillis
          const result = yield* Effect.either(breaker.withBreaker(adapter.generateText(request(model))))
          const latencyMs = (yield* Clock.currentTimeMillis) - t0
          if (result._tag === "Right") {
            yield* status.record({ model, outcome: "success", latencyMs })
            return model
          }
          if (result.left._tag === "CircuitOpen") continue
          yield* status.record({ model, outcome: "failure", latencyMs, category: "hard", reason: result.left.reason })
        }
        return "none"
      })

      yield* sim.setOverride("gpt-4.1-mini", "overloaded")
      const during: Array<string> = []
      for (let i = 0; i < 10; i++) during.push(yield* serve)
      expect(during.every((m) => m === "gemini-2.5-flash")).toBe(true)
      const outage = yield* status.snapshot
      expect(healthOf(outage, "gpt-4.1-mini")).toMatchObject({ health: "unavailable", breaker: "open", reason: "breaker open" })
      expect(outage.notes).toContain("gemini-2.5-flash is serving in place of gpt-4.1-mini")

      // open for 100 s: the probe at 60 s is held back, the one at 120 s is the trial call and fails (re-open for 200 s)
      yield* settle(Effect.sleep("150 seconds"), "1 second", 400)
      expect(healthOf(yield* status.snapshot, "gpt-4.1-mini")).toMatchObject({ health: "unavailable", breaker: "open", probes: { count: 1, cost: 0 } })

      yield* sim.setOverride("gpt-4.1-mini", undefined)
      // the probes at 180, 240 and 300 s: held back (open until ~320 s); at ~360 s: the trial call succeeds
      yield* settle(Effect.sleep("220 seconds"), "1 second", 400)
      const back = healthOf(yield* status.snapshot, "gpt-4.1-mini")
      expect(back).toMatchObject({ health: "normal", breaker: "closed", ramp: 0.1, probes: { count: 2, cost: 0.0001 } })

      // the ramp: about one request in ten goes back to the primary, then all of them
      const ramping: Array<string> = []
      for (let i = 0; i < 100; i++) ramping.push(yield* serve)
      const onPrimary = ramping.filter((m) => m === "gpt-4.1-mini").length
      expect(onPrimary).toBeGreaterThan(3)
      expect(onPrimary).toBeLessThan(20)
      yield* settle(Effect.sleep("4 minutes"), "5 seconds", 100)
      const after: Array<string> = []
      for (let i = 0; i < 10; i++) after.push(yield* serve)
      expect(after.every((m) => m === "gpt-4.1-mini")).toBe(true)
      const final = yield* status.snapshot
      expect(healthOf(final, "gpt-4.1-mini")).toMatchObject({ health: "normal", ramp: undefined })
      expect(final.notes).toEqual([])
      // requests the ramp held back never reached the primary: 5 before its breaker opened, 2 probes, then what was admitted
      const primaryCalls = (yield* sim.snapshot).models.find((m) => m.id === "gpt-4.1-mini")!.requests
      expect(primaryCalls).toBe(5 + 2 + onPrimary + 10)
    }).pipe(
      Effect.provide(Layer.merge(
        Layer.provideMerge(
          ModelStatus.layer({ lists: { text: [{ model: "gpt-4.1-mini", vendor: "openai" }, { model: "gemini-2.5-flash", vendor: "google" }] } }),
          CircuitBreaker.layer({ openDuration: "100 seconds" })
        ),
        HttpLive
      )),
      Effect.withRandom(Random.make("failback"))
    ))

  it.scoped("a probe with its own, longer interval keeps it while it is answered; while refused (not billed) it repeats at the general interval", () =>
    Effect.gen(function*() {
      const status = yield* ModelStatus.ModelStatus
      const p = yield* scriptedProbe("primary", 0.5)
      const probes = yield* HealthProbe.make({ probes: [{ ...p.probe, interval: "30 minutes" }], interval: "1 minute", always: true })
      yield* TestClock.adjust("29 minutes")
      expect(yield* p.calls).toBe(0)
      yield* TestClock.adjust("1 minute")
      expect(yield* p.calls).toBe(1) // refused (503): the next in a minute, not in half an hour
      yield* TestClock.adjust("2 minutes")
      expect(yield* p.calls).toBe(3)
      expect(healthOf(yield* status.snapshot, "primary")).toMatchObject({ health: "unavailable", probes: { count: 3, cost: 0 } })
      yield* Ref.set(p.down, false)
      yield* TestClock.adjust("1 minute")
      expect(yield* p.calls).toBe(4) // answered, and billed: back to its own pace
      yield* TestClock.adjust("29 minutes")
      expect(yield* p.calls).toBe(4)
      yield* TestClock.adjust("1 minute")
      expect(yield* p.calls).toBe(5)
      expect((yield* probes.sent).get("primary")).toEqual({ count: 5, cost: 1 })
    }).pipe(Effect.provide(Setup)))

  it.scoped("a probe answered with a billed failure (a filtered prompt) keeps its own interval", () =>
    Effect.gen(function*() {
      const filtered = new SoftFailure({ reason: "ContentFiltered", provider: "p", model: "primary", message: "blocked" })
      const p = yield* scriptedProbe("primary", 0.5, filtered)
      yield* HealthProbe.make({ probes: [{ ...p.probe, interval: "30 minutes" }], interval: "1 minute", always: true })
      yield* TestClock.adjust("59 minutes")
      expect(yield* p.calls).toBe(1)
      yield* TestClock.adjust("1 minute")
      expect(yield* p.calls).toBe(2)
    }).pipe(Effect.provide(Setup)))

  it.scoped("immediate: the first probe goes out at the start, not one interval later", () =>
    Effect.gen(function*() {
      const a = yield* scriptedProbe("primary", 0.01)
      const b = yield* scriptedProbe("backup", 0.01)
      yield* HealthProbe.make({ probes: [a.probe, { ...b.probe, interval: "30 minutes" }], interval: "5 minutes", always: true, immediate: true })
      yield* TestClock.adjust("0 millis")
      expect([yield* a.calls, yield* b.calls]).toEqual([1, 1])
      yield* TestClock.adjust("5 minutes")
      expect([yield* a.calls, yield* b.calls]).toEqual([2, 2]) // both refused: both at the general pace
    }).pipe(Effect.provide(Setup)))

  it.scoped("video models are probed with a submission over real HTTP: refused ones turn unavailable (no cost), accepted ones cost their price", () =>
    Effect.gen(function*() {
      const { openai, sim } = yield* startSimulator()
      const client = yield* ResilientClient.make({
        video: [
          { model: "sora-2", provider: openai, vendor: "openai", price: 0.4 },
          { model: "kling-v2", provider: openai, vendor: "kuaishou", price: 0.3 }
        ],
        probes: { always: true, immediate: true, interval: "1 minute", video: { prompt: "a dot" }, videoInterval: "30 minutes" }
      })
      yield* sim.setOverride("sora-2", "overloaded")
      yield* settle(Effect.sleep("2 minutes"), "10 seconds", 100)
      const snapshot = yield* client.status.snapshot
      expect(healthOf(snapshot, "sora-2")).toMatchObject({ health: "unavailable", probes: { count: 3, cost: 0 } })
      expect(healthOf(snapshot, "kling-v2")).toMatchObject({ health: "normal", probes: { count: 1, cost: 0.3 } })
      const state = (yield* sim.snapshot).models
      expect(state.find((m) => m.id === "sora-2")).toMatchObject({ requests: 3, outcomes: { overloaded: 3 } })
      expect(state.find((m) => m.id === "kling-v2")).toMatchObject({ requests: 1, outcomes: { ok: 1 } })
    }).pipe(Effect.provide(Layer.mergeAll(RetryPolicy.layer(), CircuitBreaker.layer({ consecutiveFailures: 100, minimumCalls: 100 }), HttpLive))))

  it.scoped("the status command probes video models: one the simulator takes down is shown unavailable, the others normal", () =>
    Effect.gen(function*() {
      const { sim } = yield* startSimulator()
      yield* sim.setOverride("sora-2", "overloaded")
      const config = join(mkdtempSync(join(tmpdir(), "ear-status-")), "models.json")
      writeFileSync(config, JSON.stringify({
        text: [{ model: "gpt-4.1-mini", provider: "openai-compatible", baseUrl: `${sim.url}/v1`, apiKeyEnv: "SIM_KEY", price: 0.001 }],
        video: [
          { model: "sora-2", provider: "openai-compatible", baseUrl: `${sim.url}/v1`, apiKeyEnv: "SIM_KEY", price: 0.4 },
          { model: "gen4_turbo", provider: "openai-compatible", baseUrl: `${sim.url}/v1`, apiKeyEnv: "SIM_KEY", price: 0.25 }
        ]
      }))
      const lines: Array<string> = []
      const console = yield* Console.consoleWith(Effect.succeed)
      const keep: Console.Console = { ...console, log: (...parts: ReadonlyArray<unknown>) => Effect.sync(() => void lines.push(parts.map(String).join(" "))) }
      const running = yield* cli(["node", "effect-ai-resilience", "status", "--config", config, "--port", "0", "--probe-interval", "10", "--video-probe-interval", "600"]).pipe(
        Effect.withConsole(keep),
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["SIM_KEY", KEY]]))),
        Effect.provide(NodeContext.layer),
        Effect.fork
      )
      const health = (body: ModelStatus.StatusSnapshot, model: string) => body.models.find((m) => m.model === model)?.health
      let snapshot: ModelStatus.StatusSnapshot | undefined
      for (let i = 0; i < 400; i++) {
        yield* ioTurn
        const url = lines.map((l) => /^status page: (\S+)\//.exec(l)?.[1]).find((u) => u !== undefined)
        if (url !== undefined) {
          snapshot = yield* HttpClient.get(`${url}/status`).pipe(Effect.flatMap((r) => r.json), Effect.map((b) => b as ModelStatus.StatusSnapshot))
          if (health(snapshot, "sora-2") === "unavailable") break
        }
        const exit = yield* Fiber.poll(running)
        if (exit._tag === "Some") expect.fail(`status ended: ${exit.value._tag === "Failure" ? Cause.pretty(exit.value.cause) : "ok"}`)
        yield* TestClock.adjust("2 seconds")
      }
      expect(snapshot && health(snapshot, "sora-2")).toBe("unavailable")
      expect(snapshot && health(snapshot, "gen4_turbo")).toBe("normal")
      expect(snapshot && health(snapshot, "gpt-4.1-mini")).toBe("normal")
      expect(lines.join("\n")).toContain("every video model every 600 s")
      const state = (yield* sim.snapshot).models
      // the answered video model was probed once (its own pace); the refused one at the general pace
      expect(state.find((m) => m.id === "gen4_turbo")?.requests).toBe(1)
      expect(state.find((m) => m.id === "sora-2")?.requests).toBe(3)
      yield* Fiber.interrupt(running)
    }).pipe(Effect.provide(HttpLive)))
})
