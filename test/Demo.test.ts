import { describe, expect, it } from "@effect/vitest"
import { HttpClient } from "@effect/platform"
import { Effect } from "effect"
import * as Demo from "../src/Demo.js"
import type * as ModelStatus from "../src/ModelStatus.js"
import { HttpLive } from "./support/simulator.js"

describe("main job (demo): the outage drill", () => {
  it.scoped("fails over during the primary's outage, opens its breaker and returns to it afterwards — over real HTTP, in virtual time", () =>
    Effect.gen(function*() {
      const report = yield* Demo.run({ statusPort: 0 })
      const failing = Demo.checks(report).filter((c) => !c.ok)
      expect(failing).toEqual([])
      expect(report.requests).toBe(240)
      // 240 arrivals 25 s apart: the drill spans 100 simulated minutes, whatever the real time
      expect(report.simulatedMs).toBeGreaterThanOrEqual(239 * 25_000)
      // the client's own attempt log agrees with what the providers received
      expect(Object.values(report.providerRequests).reduce((a, b) => a + b, 0)).toBe(report.upstreamCalls)
      // the outage's 503s were seen, and classified as overload
      expect(report.attemptFailures["hard/Overloaded"]).toBeGreaterThan(0)
      // the breaker kept calls away from the primary while it was down
      const inOutage = report.outcomes.filter((o) => o.arrivedAtMs >= report.outage.fromMs && o.arrivedAtMs < report.outage.toMs)
      const primaryCalls = inOutage.flatMap((o) => o.attempts.filter((a) => a.model === "gemini-3-pro-image-preview" && a.outcome !== "skipped"))
      expect(primaryCalls.length).toBeLessThan(inOutage.length / 4)
      // latencies are simulated time: the sibling's are near its 4 s median, not inflated by real I/O
      const flash = report.byModel.find((m) => m.model === "gemini-2.5-flash-image")!
      expect(flash.latency.p50).toBeGreaterThan(2_000)
      expect(flash.latency.p50).toBeLessThan(8_000)
      // cost: priced successes only
      expect(report.cost.total).toBeCloseTo(report.outcomes.reduce((sum, o) => sum + o.cost, 0), 9)
      expect(report.byModel.reduce((n, m) => n + m.served, 0)).toBe(report.served)
      // the client's own status page, still up in the caller's scope, shows the primary back to normal
      const page = yield* HttpClient.get(`${report.statusUrl}/status`).pipe(Effect.flatMap((r) => r.json))
      expect((page as ModelStatus.StatusSnapshot).models[0]).toMatchObject({ model: "gemini-3-pro-image-preview", health: "normal", breaker: "closed" })
      const text = Demo.formatReport(report)
      expect(text).toContain("breaker transitions")
      expect(text).not.toContain("sk-sim-demo")
    }).pipe(Effect.provide(HttpLive)))

  it.scoped("the same seed gives the same report", () =>
    Effect.gen(function*() {
      const a = yield* Demo.run({ requests: 60, interval: "1 minute", seed: 5 })
      const b = yield* Demo.run({ requests: 60, interval: "1 minute", seed: 5 })
      expect(b).toEqual(a)
    }).pipe(Effect.provide(HttpLive)))
})
