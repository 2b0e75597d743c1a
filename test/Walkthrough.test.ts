import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Walkthrough from "../src/Walkthrough.js"
import { settle } from "./support/clock.js"
import { HttpLive } from "./support/simulator.js"

describe("classification walkthrough", () => {
  it.scoped("every scripted step is classified as the step expects, through real HTTP", () =>
    Effect.gen(function*() {
      const outcomes = yield* settle(Walkthrough.run(), "20 millis", 20_000)
      const summary = Walkthrough.summarize(outcomes)
      const mismatches = outcomes.filter((o) => o.actual !== o.expected).map((o) => `${o.title}: ${o.actual} — ${o.detail}`)
      expect(mismatches).toEqual([])
      expect(summary.steps).toBe(24)
      // every category (hard, soft, silent) is exercised
      expect(Object.keys(summary.byClass).some((k) => k.startsWith("hard/"))).toBe(true)
      expect(Object.keys(summary.byClass).some((k) => k.startsWith("soft/"))).toBe(true)
      expect(Object.keys(summary.byClass).some((k) => k.startsWith("silent/"))).toBe(true)
      // neither key leaks into what is printed, nor into any failure's fields or raw body
      const everything = [
        ...outcomes.map(Walkthrough.formatStep),
        ...outcomes.flatMap((o) => o.failure === undefined ? [] : [JSON.stringify(o.failure), String(o.failure), o.failure.rawBody ?? ""])
      ].join("\n")
      for (const key of ["sk-sim-demo-0123456789abcdef", "sk-wrong-key-9999"]) {
        expect(everything).not.toContain(key)
        expect(everything).not.toContain(key.slice(0, 8)) // no partial echo either
      }
    }).pipe(Effect.provide(HttpLive)))
})
