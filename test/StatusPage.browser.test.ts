import { expect, it } from "@effect/vitest"
import { Effect, Layer, Redacted } from "effect"
import type { Page } from "playwright-core"
import * as CircuitBreaker from "../src/CircuitBreaker.js"
import * as ModelStatus from "../src/ModelStatus.js"
import * as ResilientClient from "../src/ResilientClient.js"
import * as RetryPolicy from "../src/RetryPolicy.js"
import * as NodeStatusServer from "../src/NodeStatusServer.js"
import { launchBrowser } from "./support/browser.js"
import { Chromium, describeWithService } from "./support/systemService.js"
import { HttpLive, startSimulator } from "./support/simulator.js"

// real time: the browser's EventSource runs on its own clock; retries are kept tiny
const Policies = Layer.mergeAll(RetryPolicy.layer({ jitter: "none", base: "5 millis", maxAttempts: 2 }), CircuitBreaker.layer())

const rgb = { green: "rgb(22, 163, 74)", red: "rgb(220, 38, 38)" }

/**
 * Everything the page's Content-Security-Policy blocked, as the browser
 * reports it (a `securitypolicyviolation` event per refusal), from before
 * the page's first byte.
 */
const watchViolations = (page: Page) =>
  Effect.promise(() =>
    page.addInitScript(() => {
      const seen: Array<string> = []
      ;(window as unknown as { violations: Array<string> }).violations = seen
      document.addEventListener("securitypolicyviolation", (e) => seen.push(`${e.violatedDirective} ${e.blockedURI}`))
    })
  )
const violations = (page: Page) => Effect.promise(() => page.evaluate(() => (window as unknown as { violations: Array<string> }).violations))

/** The simulator and a client with two image models on it: the primary the page watches, and its fallback. */
const imageClient = Effect.gen(function*() {
  const { gemini, openai, sim } = yield* startSimulator()
  const client = yield* ResilientClient.make({
    image: [
      { model: "gemini-2.5-flash-image", provider: gemini, vendor: "google" },
      { model: "gpt-image-1.5", provider: openai, vendor: "openai" }
    ]
  })
  return { client, sim }
})

describeWithService(Chromium, "status page in real headless Chromium", () => {
  it.live("a model's row turns red when the simulator takes it down and green when it comes back, live, without a reload", () =>
    Effect.gen(function*() {
      const { client, sim } = yield* imageClient
      const server = yield* NodeStatusServer.make().pipe(Effect.provideService(ModelStatus.ModelStatus, client.status))
      const browser = yield* launchBrowser
      const page = yield* Effect.promise(() => browser.newPage())
      yield* watchViolations(page)
      const response = yield* Effect.promise(() => page.goto(`${server.url}/`))
      expect(response?.headers()["content-security-policy"]).toContain("default-src 'none'")
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
      // it did all of it under the policy: its own script and styles, its own event stream, nothing refused
      expect(yield* violations(page)).toEqual([])
    }).pipe(Effect.scoped, Effect.provide(Layer.merge(Policies, HttpLive))), 60_000)

  it.live("with a token: the page asks for it once, then runs on the session cookie — live events included — under the policy", () =>
    Effect.gen(function*() {
      const { client, sim } = yield* imageClient
      const token = "page-token-9f8e7d6c5b4a"
      const server = yield* NodeStatusServer.make({ token: Redacted.make(token) }).pipe(Effect.provideService(ModelStatus.ModelStatus, client.status))
      const browser = yield* launchBrowser
      const page = yield* Effect.promise(() => browser.newPage())
      yield* watchViolations(page)
      const first = yield* Effect.promise(() => page.goto(`${server.url}/`))
      expect(first?.status()).toBe(401)
      expect(yield* Effect.promise(() => page.$$("tr[data-model]"))).toHaveLength(0)
      yield* Effect.promise(() => page.fill("input[name=token]", token))
      yield* Effect.promise(() => Promise.all([page.waitForURL(`${server.url}/`), page.click("button[type=submit]")]))
      const row = `tr[data-model="gemini-2.5-flash-image"]`
      yield* Effect.promise(() => page.waitForSelector(`${row}[data-health="normal"]`, { timeout: 5_000 }))
      expect(page.url()).toBe(`${server.url}/`) // the token never went into a URL
      expect(yield* Effect.promise(() => page.content())).not.toContain(token)

      yield* sim.setOverride("gemini-2.5-flash-image", "overloaded")
      yield* client.generateImage({ prompt: "a lighthouse", outputFormat: "png" })
      yield* client.generateImage({ prompt: "a harbour", outputFormat: "png" })
      // pushed over the event stream, which the browser opened with the cookie alone
      yield* Effect.promise(() => page.waitForSelector(`${row}[data-health="unavailable"]`, { timeout: 5_000 }))
      expect(yield* Effect.promise(() => page.evaluate(() => performance.getEntriesByType("navigation").length))).toBe(1)
      const cookies = yield* Effect.promise(() => page.context().cookies())
      expect(cookies.map((c) => [c.name, c.httpOnly, c.sameSite])).toEqual([["ear_status_session", true, "Strict"]])
      expect(cookies[0]!.value).not.toContain(token)
      expect(yield* violations(page)).toEqual([])
    }).pipe(Effect.scoped, Effect.provide(Layer.merge(Policies, HttpLive))), 60_000)
})
