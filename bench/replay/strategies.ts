/**
 * The strategies the replay compares. Each builds, inside the replay (virtual
 * clock, seeded `Random`, the tracked HTTP client in context), a function from
 * a prompt to the model that served it. Every call goes over real loopback
 * HTTP to the simulator through the project's Gemini and OpenAI-compatible
 * adapters (Gemini models on the Gemini wire, the others on the gateway).
 */
import * as LoadControl from "../../src/LoadControl.js"
import { HttpClient, HttpClientRequest } from "@effect/platform"
import { Clock, Duration, Effect, Layer, Random, Redacted, type Scope } from "effect"
import type { GenerationFailure } from "../../src/Failure.js"
import * as Gemini from "../../src/Gemini.js"
import { ImageRequest } from "../../src/ImageGeneration.js"
import * as OpenAICompatible from "../../src/OpenAICompatible.js"
import type { ProviderService } from "../../src/Provider.js"
import * as ResilientClient from "../../src/ResilientClient.js"
import type { ReplayClock } from "./clock.js"
import { API_KEY, PRIMARY, type Trace } from "./trace.js"

export type StrategyId = "idle" | "floor" | "none" | "seed-001" | "seed-000" | "toolkit" | "toolkit-sized" | "cockatiel"

/** A request's result: the model that served it, or why it failed. */
export type Call = (prompt: string) => Effect.Effect<string, string>

export interface Env {
  readonly simUrl: string
  readonly trace: Trace
  readonly clock: ReplayClock
  readonly seed: number
}

export interface Strategy {
  readonly id: StrategyId
  readonly label: string
  /** What it does, in one line (printed under the table). */
  readonly description: string
  readonly make: (env: Env) => Effect.Effect<Call, never, Scope.Scope | HttpClient.HttpClient>
}

/** `_tag/reason` of a failure (or its tag). */
export const reasonOf = (error: unknown): string => {
  if (typeof error === "object" && error !== null && "_tag" in error) {
    const e = error as { readonly _tag: string; readonly reason?: unknown }
    return typeof e.reason === "string" ? `${e.reason}` : e._tag
  }
  return error instanceof Error ? (error.name !== "Error" ? error.name : error.constructor.name) : "unknown"
}

/** A Gemini and a gateway adapter on the simulator, with the given per-exchange time-out. */
export const providers = (env: Env, timeout?: Duration.DurationInput) =>
  Effect.gen(function*() {
    const apiKey = Redacted.make(API_KEY)
    const t = timeout === undefined ? {} : { timeout }
    // constant, valid options: a failure here would be a bug
    const gemini = yield* Effect.orDie(Gemini.make({ name: "gemini", baseUrl: env.simUrl, apiKey, ...t }))
    const gateway = yield* Effect.orDie(OpenAICompatible.make({ name: "gateway", baseUrl: env.simUrl, apiKey, ...t }))
    const byModel = new Map<string, ProviderService>()
    for (const m of env.trace.models) byModel.set(m.model, m.route === "gemini" ? gemini : gateway)
    return byModel
  })

const image = (provider: ProviderService, model: string, prompt: string) => provider.generateImage(ImageRequest.make({ model, prompt }))

// ---------------------------------------------------------------------------
// diagnostics: where the wall time goes
// ---------------------------------------------------------------------------

/** The replay harness alone: every request "served" after the primary's median latency, no HTTP. */
export const idle: Strategy = {
  id: "idle",
  label: "0a. harness only (no HTTP)",
  description: "diagnostic: each request sleeps the primary's median latency on the virtual clock and succeeds; no HTTP",
  make: (env) =>
    Effect.succeed((_prompt: string) =>
      Effect.as(Effect.sleep(Duration.millis(env.trace.normal[PRIMARY]?.median ?? 30_000)), PRIMARY)
    )
}

/** Harness + simulator + HTTP client, without an adapter: the floor under every strategy. */
export const floor: Strategy = {
  id: "floor",
  label: "0b. raw HTTP to the primary (no adapter)",
  description: "diagnostic: one bare `generateContent` POST to the primary through the same HTTP client, body read as text; 200 = served",
  make: (env) =>
    Effect.map(HttpClient.HttpClient, (client) => (prompt: string) =>
      HttpClientRequest.post(`${env.simUrl}/v1beta/models/${PRIMARY}:generateContent`).pipe(
        HttpClientRequest.setHeader("x-goog-api-key", API_KEY),
        HttpClientRequest.bodyUnsafeJson({ contents: [{ role: "user", parts: [{ text: prompt }] }], generationConfig: { responseModalities: ["IMAGE"] } }),
        client.execute,
        Effect.flatMap((response) => Effect.map(response.text, () => response.status)),
        Effect.mapError((e) => e._tag),
        Effect.flatMap((status) => (status === 200 ? Effect.succeed(PRIMARY) : Effect.fail(`HTTP ${status}`)))
      ))
}

// ---------------------------------------------------------------------------
// 1. no resilience
// ---------------------------------------------------------------------------

export const none: Strategy = {
  id: "none",
  label: "1. no resilience (primary only)",
  description: "one call to the primary, adapter defaults (180 s time-out)",
  make: (env) =>
    Effect.map(providers(env), (byModel) => {
      const primary = byModel.get(PRIMARY)!
      return (prompt) => image(primary, PRIMARY, prompt).pipe(Effect.as(PRIMARY), Effect.mapError(reasonOf))
    })
}

// ---------------------------------------------------------------------------
// 2. seed-001: retry the primary
// ---------------------------------------------------------------------------

/** seed-001 retries when `"503" in str(e) or "overloaded" in str(e).lower()`. */
const looksOverloaded = (f: GenerationFailure): boolean =>
  f.status === 503 || /503|overloaded/i.test(`${f.message} ${f.rawBody ?? ""}`)

export const seed001: Strategy = {
  id: "seed-001",
  label: "2. seed-001: retry the primary ×5",
  description: "seed-001 `NanoBananaProClient.generate_image`: up to 5 attempts on the primary, wait 2^k + U(0,1) s " +
    "(k = 0..3) after a 503/\"overloaded\", any other failure is final; 120 s time-out per call",
  make: (env) =>
    Effect.map(providers(env, Duration.seconds(120)), (byModel) => {
      const primary = byModel.get(PRIMARY)!
      const maxRetries = 5
      return (prompt) =>
        Effect.gen(function*() {
          for (let attempt = 0; attempt < maxRetries; attempt++) {
            const result = yield* Effect.either(image(primary, PRIMARY, prompt))
            if (result._tag === "Right") return PRIMARY
            const failure = result.left
            if (!looksOverloaded(failure)) return yield* Effect.fail(reasonOf(failure))
            if (attempt < maxRetries - 1) {
              const delay = 2 ** attempt + (yield* Random.next)
              yield* Effect.sleep(Duration.millis(Math.round(delay * 1000)))
              continue
            }
            return yield* Effect.fail(`GaveUp after ${maxRetries}: ${reasonOf(failure)}`)
          }
          return yield* Effect.fail("unreachable")
        })
    })
}

// ---------------------------------------------------------------------------
// 3. seed-000: priority fallback with its breaker
// ---------------------------------------------------------------------------

/**
 * seed-000's `CircuitBreaker`, line by line (times in seconds from the
 * virtual clock instead of `time.time()`). Its quirks are kept: `record` only
 * ever opens (a half-open breaker is never closed, it behaves as closed until
 * the window trips it again), calls that finish while it is open can re-open
 * it (moving `last_failure_time`), and `is_available` needs strictly more than
 * the recovery time.
 */
class Seed000Breaker {
  private readonly requests: Array<readonly [number, boolean]> = []
  private head = 0
  state: "closed" | "open" | "half_open" = "closed"
  private lastFailureTime = 0
  constructor(readonly failureThreshold = 0.3, readonly windowSize = 60, readonly recoveryTime = 300) {}

  record(success: boolean, now: number): void {
    this.requests.push([now, success])
    while (this.head < this.requests.length && this.requests[this.head]![0] < now - this.windowSize) this.head++
    if (this.head > 1024 && this.head * 2 > this.requests.length) {
      this.requests.splice(0, this.head)
      this.head = 0
    }
    const size = this.requests.length - this.head
    if (size >= 5) {
      let failures = 0
      for (let i = this.head; i < this.requests.length; i++) if (!this.requests[i]![1]) failures++
      if (failures / size >= this.failureThreshold) {
        this.state = "open"
        this.lastFailureTime = now
      }
    }
  }

  isAvailable(now: number): boolean {
    if (this.state === "closed") return true
    if (this.state === "open") {
      if (now - this.lastFailureTime > this.recoveryTime) {
        this.state = "half_open"
        return true
      }
      return false
    }
    return true
  }
}

export const seed000: Strategy = {
  id: "seed-000",
  label: "3. seed-000: fallback + its breaker",
  description: "seed-000 `MultiModelImageGenerator.generate`: the 5 models in order, one call each, skip a model whose breaker " +
    "is open (60 s window, >= 5 calls, >= 30 %, 300 s), any failure moves on; 600 s time-out (the openai SDK default)",
  make: (env) =>
    Effect.map(providers(env, Duration.seconds(600)), (byModel) => {
      const chain = env.trace.models.map((m) => ({ model: m.model, provider: byModel.get(m.model)!, breaker: new Seed000Breaker() }))
      const seconds = Effect.map(Clock.currentTimeMillis, (ms) => ms / 1000)
      return (prompt) =>
        Effect.gen(function*() {
          let last = "AllModelsFailed"
          for (const { breaker, model, provider } of chain) {
            if (!breaker.isAvailable(yield* seconds)) continue
            const result = yield* Effect.either(image(provider, model, prompt))
            breaker.record(result._tag === "Right", yield* seconds)
            if (result._tag === "Right") return model
            last = `AllModelsFailed (last: ${reasonOf(result.left)})`
          }
          return yield* Effect.fail(last)
        })
    })
}

// ---------------------------------------------------------------------------
// 4. the toolkit
// ---------------------------------------------------------------------------

const toolkit = (id: "toolkit" | "toolkit-sized", label: string, description: string, load?: { readonly requestsPerMinute: number; readonly concurrency: number }): Strategy => ({
  id,
  label,
  description,
  make: (env) =>
    Effect.gen(function*() {
      const byModel = yield* providers(env)
      const policies = yield* Layer.build(ResilientClient.policiesLayer()).pipe(Effect.orDie)
      const client = yield* ResilientClient.make({
        image: env.trace.models.map(({ model, price, vendor }) => ({ model, price, vendor, provider: byModel.get(model)! })),
        ...(load === undefined ? {} : { load })
      }).pipe(Effect.provide(policies), Effect.orDie)
      return (prompt: string) => client.generateImage({ prompt }).pipe(Effect.map((served) => served.model), Effect.mapError(reasonOf))
    })
})

export const toolkitDefaults: Strategy = toolkit(
  "toolkit",
  "4. toolkit defaults",
  "`ResilientClient.make({ image })` with `ResilientClient.policiesLayer()`: every default (retry ×4 full jitter + budget, " +
    `breaker per model, failback ramp and promotion trial, load control ${LoadControl.DEFAULT_REQUESTS_PER_MINUTE} rpm / ${LoadControl.DEFAULT_CONCURRENCY} in flight per model, 120 s per attempt)`
)

/** The defaults with the one option sized for this trace: per-model load control. */
export const toolkitSized = (requestsPerMinute: number, concurrency: number): Strategy =>
  toolkit(
    "toolkit-sized",
    "4b. toolkit, load control sized",
    `the defaults except \`load: { requestsPerMinute: ${requestsPerMinute}, concurrency: ${concurrency} }\` (sized to this ` +
      "trace's peak rate instead of the defaults)",
    { requestsPerMinute, concurrency }
  )
