import { expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import * as CircuitBreaker from "../src/CircuitBreaker.js"
import * as ModelStatus from "../src/ModelStatus.js"
import * as ResilientClient from "../src/ResilientClient.js"
import * as RetryPolicy from "../src/RetryPolicy.js"
import * as StatusServer from "../src/StatusServer.js"
import { launchBrowser } from "./support/browser.js"
import { Chromium, describeWithService } from "./support/systemService.js"
import { HttpLive, startSimulator } from "./support/simulator.js"

// real time: the browser's EventSource runs on its own clock; retries are kept tiny
const Policies = Layer.mergeAll(RetryPolicy.layer({ jitter: "none", base: "5 millis", maxAttempts: 2 }), CircuitBreaker.layer())

const rgb = { green: "rgb(22, 163, 74)", red: "rgb(220, 38, 38)" }

describeWithService(Chromium, "status page in real headless Chromium", () => {
  it.live("a model's row turns red when the simulator takes it down and green when it comes back, live, without a reload", () =>
    Effect.gen(function*() {
      const { gemini, openai, sim } = yield* startSimulator()
      const client = yield* ResilientClient.make({
        image: [
          { model: "gemini-2.5-flash-image", provider: gemini, vendor: "google" },
          { model: "gpt-image-1.5", provider: openai, vendor: "openai" }
        ]
      })
      const server = yield* StatusServer.make().pipe(Effect.provideService(ModelStatus.ModelStatus, client.status))
      const browser = yield* launchBrowser
      const page = yield* Effect.promise(() => browser.newPage())
      yield* Effect.promise(() => page.goto(`${server.url}/`))
      const row = `tr[data-model="gemini-2.5-flash-image"]`
      const badgeColour = () => page.$eval(`${row} .badge`, (e) => getComputedStyle(e).backgroundColor)
      yield* Effect.promise(() => page.waitForSelector(`${row}[data-health="normal"]`, { timeout: 5_000 }))
      expect(yield* Effect.promise(badgeColour)).toBe(rgb.green)

      // the simulator takes the model down; two requests' failures make it unavailable
      yield* sim.setOverride("gemini-2.5-flash-image", "overloaded")
      yield* client.generateImage({ prompt: "a lighthouse", outputFormat: "png" })
      yield* client.generateImage({ prompt: "a harbour", outputFormat: "png" })
      yield* Effect.promise(() => page.waitForSelector(`${row}[data-health="unavailable"]`, { timeout: 5_000 }))
      expect(yield* Effect.promise(badgeColour)).toBe(rgb.red)
      expect(yield* Effect.promise(() => page.textContent("#notes"))).toContain("gpt-image-1.5 is serving in place of gemini-2.5-flash-image")
      yield* Effect.promise(() => page.screenshot({ path: "/tmp/status-page-down.png", fullPage: true }))

      // it comes back: the next request succeeds on it and the row turns green again
      yield* sim.setOverride("gemini-2.5-flash-image", undefined)
      const served = yield* client.generateImage({ prompt: "a kite", outputFormat: "png" })
      expect(served.model).toBe("gemini-2.5-flash-image")
      yield* Effect.promise(() => page.waitForSelector(`${row}[data-health="normal"]`, { timeout: 5_000 }))
      expect(yield* Effect.promise(badgeColour)).toBe(rgb.green)
      // no reload happened: the page kept its first navigation
      expect(yield* Effect.promise(() => page.evaluate(() => performance.getEntriesByType("navigation").length))).toBe(1)
    }).pipe(Effect.scoped, Effect.provide(Layer.merge(Policies, HttpLive))), 60_000)
})
