/**
 * The main job (`npm run demo`): an outage drill over real HTTP.
 *
 * The provider simulator runs in-process with five image models in priority order. Ten
 * minutes in, the primary (`gemini-3-pro-image-preview`) goes into a 60-minute
 * overload (95 % of its calls answer 503, slowly). A batch of image requests
 * arrives at a steady pace and goes through the {@link ResilientClient} with
 * its defaults — retries with jittered backoff and a budget, a circuit breaker
 * per model, the fallback chain, per-model load control — through the real
 * Gemini and OpenAI-compatible adapters. The {@link Report} says which model
 * served each request, how many retries and upstream calls it took, which
 * failures were seen (category/reason), every breaker transition, latency
 * percentiles and cost, and {@link checks} says whether the drill showed what
 * it should: failover, the breaker opening, and the return to the primary.
 *
 * The drill runs in virtual time: the clock stands still while anything runs
 * and jumps to the next scheduled wake-up when every fiber waits on a sleep
 * (a simulated latency, a retry delay, the next arrival), with real event-loop
 * turns for the loopback HTTP in between. A hundred simulated minutes take
 * about two seconds, every duration in the report is simulated time measured
 * exactly, and the same seed (it seeds the simulator and the retry jitter)
 * gives the same report. {@link runOn} runs it on
 * whatever `Clock` is in scope instead (e.g. `TestClock`).
 *
 * @since 0.1.0
 */
import type { HttpClient } from "@effect/platform"
import type { ServeError } from "@effect/platform/HttpServerError"
import { Clock, Duration, Effect, Exit, Random, Redacted, Schema, type Scope, Stream } from "effect"
import * as CircuitBreaker from "./CircuitBreaker.js"
import * as FallbackChain from "./FallbackChain.js"
import * as Gemini from "./Gemini.js"
import type { ImageDeliveryResult } from "./ImageDelivery.js"
import * as OpenAICompatible from "./OpenAICompatible.js"
import * as ResilientClient from "./ResilientClient.js"
import * as RetryPolicy from "./RetryPolicy.js"
import { VirtualClock } from "./internal/virtualClock.js"
import * as ModelStatus from "./ModelStatus.js"
import * as Simulator from "./Simulator.js"
import * as NodeStatusServer from "./NodeStatusServer.js"

/** The primary image model: the best quality, in preview, and the one that goes down. */
const PRIMARY = "gemini-3-pro-image-preview"
const OUTAGE_START_MINUTE = 10
const OUTAGE_MINUTES = 60

/**
 * The image priority list with prices per image: best quality first, then
 * the same vendor's fast model (its own capacity), then other vendors. Seedream,
 * GPT Image and FLUX prices are gateway prices reported for them (GPT Image: the low end of its
 * $0.04–0.12 range); the two Gemini prices are Google's list prices.
 *
 * @since 0.1.0
 */
export const imageModels: ReadonlyArray<{ readonly model: string; readonly route: "gemini" | "gateway"; readonly price: number }> = [
  { model: PRIMARY, route: "gemini", price: 0.134 },
  { model: "gemini-2.5-flash-image", route: "gemini", price: 0.039 },
  { model: "seedream-4.5", route: "gateway", price: 0.04 },
  { model: "gpt-image-1.5", route: "gateway", price: 0.04 },
  { model: "flux-2-pro", route: "gateway", price: 0.03 }
]

const defaultEncoded = Schema.encodeSync(Simulator.SimulatorConfig)(Simulator.defaultScenario)

/**
 * The drill's simulator: the image models of {@link Simulator.defaultScenario}
 * (latencies and fault rates like those developers report), starting at 13:00 JST (a 7 % hour of
 * the daily error-rate profile), with the primary overloaded from minute 10 to
 * minute 70 (reported outages last 30–120 min). `timeScale` is 1: the clock
 * the drill runs on does the speeding up.
 *
 * @since 0.1.0
 */
export const scenario: Simulator.SimulatorConfig = Simulator.makeConfig({
  ...defaultEncoded,
  timeScale: 1,
  startAt: "2026-01-15T13:00:00+09:00",
  models: (defaultEncoded.models ?? [])
    .filter((m) => m.kind === "image")
    .map((m) =>
      m.id === PRIMARY
        ? { ...m, outages: [{ startMinute: OUTAGE_START_MINUTE, durationMinutes: OUTAGE_MINUTES, fault: "overloaded" as const, probability: 0.95 }] }
        : m
    )
})

/**
 * Options for {@link run}.
 *
 * | option | default |
 * |---|---|
 * | `requests` | 240 |
 * | `interval` | 25 s (240 requests span 100 simulated minutes) |
 * | `seed` | the scenario's (1) |
 *
 * @since 0.1.0
 */
export interface Options {
  /** How many image requests the batch sends. */
  readonly requests?: number | undefined
  /** Simulated time between two arrivals. */
  readonly interval?: Duration.DurationInput | undefined
  /** Seed of the simulator's random draws. */
  readonly seed?: number | undefined
  /** Hears every breaker transition as it happens, with the simulated time since the start (ms). */
  readonly onTransition?: ((transition: CircuitBreaker.Transition, sinceStartMs: number) => Effect.Effect<void>) | undefined
  /** Serve the client's status page (`StatusServer`) on this port (0 = any) for as long as the caller's scope lasts. */
  readonly statusPort?: number | undefined
}

/**
 * What happened to one request of the batch.
 *
 * @since 0.1.0
 */
export interface RequestOutcome {
  readonly index: number
  /** Simulated ms since the start of the drill. */
  readonly arrivedAtMs: number
  readonly latencyMs: number
  /** The model that served, or `undefined` when the request failed. */
  readonly model: string | undefined
  /** `"ok"`, or the failure's `_tag/reason` (`"AllModelsFailed"`, `"SoftFailure/ContentFiltered"`). */
  readonly result: string
  readonly attempts: ReadonlyArray<FallbackChain.AttemptRecord>
  readonly cost: number
}

/** Latency percentiles in simulated ms (nearest rank). @since 0.1.0 */
export interface Percentiles {
  readonly count: number
  readonly p50: number
  readonly p95: number
  readonly p99: number
  readonly max: number
}

/**
 * The drill's report.
 *
 * @since 0.1.0
 */
export interface Report {
  readonly requests: number
  readonly served: number
  /** Requests that failed, by `_tag/reason`. */
  readonly failed: Readonly<Record<string, number>>
  /** Served by a model other than the primary. */
  readonly fellBack: number
  /** HTTP calls the client made (attempts that were not skipped). */
  readonly upstreamCalls: number
  /** Of which second or later attempts on the same model. */
  readonly retries: number
  /** Models skipped without a call because their breaker was open. */
  readonly skippedOpen: number
  /** Calls a recovering model did not take yet (the failback ramp sent them on). */
  readonly skippedRamp: number
  /** Failed attempts by `category/reason` (`"hard/Overloaded"`). */
  readonly attemptFailures: Readonly<Record<string, number>>
  /** Requests the simulator received per model (what the providers saw). */
  readonly providerRequests: Readonly<Record<string, number>>
  readonly byModel: ReadonlyArray<{ readonly model: string; readonly rank: number; readonly served: number; readonly latency: Percentiles }>
  readonly latency: Percentiles
  readonly cost: { readonly total: number; readonly perServedImage: number }
  readonly transitions: ReadonlyArray<CircuitBreaker.Transition & { readonly sinceStartMs: number }>
  /** When the primary's overload began and ended, simulated ms since the start. */
  readonly outage: { readonly model: string; readonly fromMs: number; readonly toMs: number }
  /** Arrival time of the first request after the outage that the primary served again. */
  readonly backOnPrimaryAtMs: number | undefined
  /** Served per model, in 10-minute slices of arrival time. */
  readonly timeline: ReadonlyArray<{ readonly fromMs: number; readonly served: Readonly<Record<string, number>>; readonly failed: number }>
  /** Simulated duration of the drill (ms). */
  readonly simulatedMs: number
  /** Where the status page is served, with `statusPort`. */
  readonly statusUrl: string | undefined
  /** Each model's status at the end of the drill. */
  readonly finalStatus: ModelStatus.StatusSnapshot
  readonly outcomes: ReadonlyArray<RequestOutcome>
}

const SLICE_MS = 10 * 60_000

/**
 * Nearest-rank percentiles of `values` (all zero when empty).
 *
 * @since 0.1.0
 */
export const percentiles = (values: ReadonlyArray<number>): Percentiles => {
  const sorted = [...values].sort((a, b) => a - b)
  const at = (p: number) => sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!
  return { count: sorted.length, p50: at(0.5), p95: at(0.95), p99: at(0.99), max: sorted.length === 0 ? 0 : sorted[sorted.length - 1]! }
}

const DEMO_KEY = "sk-sim-demo-0123456789abcdef"

const count = (into: Record<string, number>, key: string) => {
  into[key] = (into[key] ?? 0) + 1
}

/**
 * Run the drill against a fresh in-process simulator, in virtual time.
 *
 * @example
 * ```ts
 * import { NodeHttpClient } from "@effect/platform-node"
 * import { Console, Effect } from "effect"
 * import { Demo } from "effect-ai-resilience"
 *
 * Demo.run({ requests: 60 }).pipe(
 *   Effect.flatMap((report) => Console.log(Demo.formatReport(report))),
 *   Effect.scoped,
 *   Effect.provide(NodeHttpClient.layerUndici)
 * )
 * ```
 *
 * @since 0.1.0
 */
export const run = (
  options: Options = {}
): Effect.Effect<Report, ServeError, HttpClient.HttpClient | Scope.Scope> =>
  Effect.suspend(() => {
    // virtual time starts at the scenario's start, so timestamps are the same on every run too
    const clock = new VirtualClock(Date.parse(scenario.startAt))
    // the retry jitter draws from Effect's Random: seed it too, so a seed fixes the whole report
    const random = Random.make(`demo-${options.seed ?? scenario.seed}`)
    return clock.run(runOn(options).pipe(Effect.withClock(clock), Effect.withRandom(random)))
  })

/**
 * Run the drill on the `Clock` in scope (the simulator, the policies and the
 * arrivals all read it). Something must move that clock: real time (slow: the
 * drill spans 100 simulated minutes) or `TestClock` with a driver.
 *
 * @since 0.1.0
 */
export const runOn = (
  options: Options = {}
): Effect.Effect<Report, ServeError, HttpClient.HttpClient | Scope.Scope> =>
  Effect.gen(function*() {
    const requests = options.requests ?? 240
    const interval = Duration.toMillis(Duration.decode(options.interval ?? Duration.seconds(25)))
    const sim = yield* Simulator.make(Simulator.SimulatorConfig.make({
      ...scenario,
      apiKeys: [DEMO_KEY],
      ...(options.seed === undefined ? {} : { seed: options.seed })
    }))
    const apiKey = Redacted.make(DEMO_KEY)
    // constant, valid options: a failure here would be a bug (a defect)
    const gemini = yield* Effect.orDie(Gemini.make({ name: "gemini", baseUrl: sim.url, apiKey }))
    const gateway = yield* Effect.orDie(OpenAICompatible.make({ name: "gateway", baseUrl: sim.url, apiKey }))
    const breakers = yield* Effect.orDie(Effect.provide(CircuitBreaker.CircuitBreakers, CircuitBreaker.layer()))
    const policy = yield* Effect.orDie(Effect.provide(RetryPolicy.RetryPolicy, RetryPolicy.layer()))
    const client = yield* ResilientClient.make({
      image: imageModels.map(({ model, price, route }) => ({
        model,
        price,
        vendor: scenario.models.find((m) => m.id === model)?.vendor ?? route,
        provider: route === "gemini" ? gemini : gateway
      }))
    }).pipe(
      Effect.provideService(CircuitBreaker.CircuitBreakers, breakers),
      Effect.provideService(RetryPolicy.RetryPolicy, policy),
      Effect.orDie
    )

    const statusUrl = options.statusPort === undefined
      ? undefined
      : (yield* NodeStatusServer.make({ port: options.statusPort, title: "effect-ai-resilience demo: model status" }).pipe(
        Effect.provideService(ModelStatus.ModelStatus, client.status),
        // its options are fixed here: only the port can fail, as a ServeError
        Effect.catchTag("InvalidStatusServerOptions", Effect.die)
      )).url

    const start = yield* Clock.currentTimeMillis
    const transitions: Array<CircuitBreaker.Transition & { readonly sinceStartMs: number }> = []
    yield* Stream.runForEach(yield* breakers.changes, (t) => {
      transitions.push({ ...t, sinceStartMs: t.at - start })
      return options.onTransition === undefined ? Effect.void : options.onTransition(t, t.at - start)
    }).pipe(Effect.forkScoped)

    const one = (index: number): Effect.Effect<RequestOutcome> =>
      Effect.gen(function*() {
        yield* Effect.sleep(Duration.millis(index * interval))
        const arrived = yield* Clock.currentTimeMillis
        const exit = yield* Effect.exit(client.generateImage({ prompt: `Poster ${index + 1}: a lighthouse at dusk, flat colours` }))
        const latencyMs = (yield* Clock.currentTimeMillis) - arrived
        const base = { index, arrivedAtMs: arrived - start, latencyMs }
        if (Exit.isSuccess(exit)) {
          const served: FallbackChain.Served<ImageDeliveryResult> = exit.value
          return { ...base, model: served.model, result: "ok", attempts: served.attempts, cost: served.cost }
        }
        const failure = Exit.isFailure(exit) && exit.cause._tag === "Fail" ? exit.cause.error : undefined
        return {
          ...base,
          model: undefined,
          result: failure === undefined ? "defect" : "reason" in failure ? `${failure._tag}/${failure.reason}` : failure._tag,
          attempts: failure !== undefined && "attempts" in failure ? failure.attempts : [],
          cost: 0
        }
      })

    const outcomes = yield* Effect.forEach(Array.from({ length: requests }, (_, i) => i), one, { concurrency: "unbounded" })
    const simulatedMs = (yield* Clock.currentTimeMillis) - start
    const state = yield* sim.snapshot
    return { ...summarize(outcomes, transitions, state, simulatedMs), statusUrl, finalStatus: yield* client.status.snapshot }
  })

const summarize = (
  outcomes: ReadonlyArray<RequestOutcome>,
  transitions: ReadonlyArray<CircuitBreaker.Transition & { readonly sinceStartMs: number }>,
  state: Simulator.SimulatorState,
  simulatedMs: number
): Omit<Report, "statusUrl" | "finalStatus"> => {
  const failed: Record<string, number> = {}
  const attemptFailures: Record<string, number> = {}
  let upstreamCalls = 0
  let retries = 0
  let skippedOpen = 0
  let skippedRamp = 0
  for (const o of outcomes) {
    if (o.model === undefined) count(failed, o.result)
    for (const a of o.attempts) {
      if (a.outcome === "skipped") {
        if (a.reason === "CircuitOpen") skippedOpen++
        if (a.reason === "Ramp") skippedRamp++
        continue
      }
      upstreamCalls++
      if (a.attempt > 1) retries++
      if (a.outcome === "failure") count(attemptFailures, `${a.category ?? "?"}/${a.reason ?? "?"}`)
    }
  }
  const served = outcomes.filter((o) => o.model !== undefined)
  const outage = { model: PRIMARY, fromMs: OUTAGE_START_MINUTE * 60_000, toMs: (OUTAGE_START_MINUTE + OUTAGE_MINUTES) * 60_000 }
  const timeline: Array<{ fromMs: number; served: Record<string, number>; failed: number }> = []
  for (const o of outcomes) {
    const slice = Math.floor(o.arrivedAtMs / SLICE_MS)
    while (timeline.length <= slice) timeline.push({ fromMs: timeline.length * SLICE_MS, served: {}, failed: 0 })
    if (o.model === undefined) timeline[slice]!.failed++
    else count(timeline[slice]!.served, o.model)
  }
  const total = served.reduce((sum, o) => sum + o.cost, 0)
  return {
    requests: outcomes.length,
    served: served.length,
    failed,
    fellBack: served.filter((o) => o.model !== PRIMARY).length,
    upstreamCalls,
    retries,
    skippedOpen,
    skippedRamp,
    attemptFailures,
    providerRequests: Object.fromEntries(state.models.map((m) => [m.id, m.requests + m.rejected])),
    byModel: imageModels.map(({ model }, rank) => {
      const mine = served.filter((o) => o.model === model)
      return { model, rank, served: mine.length, latency: percentiles(mine.map((o) => o.latencyMs)) }
    }),
    latency: percentiles(served.map((o) => o.latencyMs)),
    cost: { total, perServedImage: served.length === 0 ? 0 : total / served.length },
    transitions,
    outage,
    backOnPrimaryAtMs: served.find((o) => o.model === PRIMARY && o.arrivedAtMs >= outage.toMs)?.arrivedAtMs,
    timeline,
    simulatedMs,
    outcomes
  }
}

/**
 * One expectation of the drill.
 *
 * @since 0.1.0
 */
export interface Check {
  readonly name: string
  readonly ok: boolean
  readonly detail: string
}

/**
 * What the drill must show: nothing lost to the outage, failover during it,
 * the primary's breaker opening, and traffic back on the primary after it.
 *
 * @since 0.1.0
 */
export const checks = (report: Report): ReadonlyArray<Check> => {
  const lost = (report.failed["AllModelsFailed"] ?? 0) + (report.failed["DeadlineExceeded"] ?? 0) + (report.failed["defect"] ?? 0)
  const during = report.outcomes.filter((o) => o.arrivedAtMs >= report.outage.fromMs + 5 * 60_000 && o.arrivedAtMs < report.outage.toMs)
  const duringFallback = during.filter((o) => o.model !== undefined && o.model !== PRIMARY).length
  const opened = report.transitions.find((t) => t.model === PRIMARY && t.to === "open")
  const lastPrimary = [...report.transitions].reverse().find((t) => t.model === PRIMARY)
  return [
    {
      name: "nothing lost to the outage",
      ok: lost === 0,
      detail: `${report.served}/${report.requests} served; ${lost} failed for want of a model`
    },
    {
      name: "failover while the primary is down",
      ok: during.length > 0 && duringFallback >= 0.9 * during.length,
      detail: `${duringFallback}/${during.length} requests from 5 minutes into the outage to its end served by a fallback`
    },
    {
      name: "the primary's breaker opens",
      ok: opened !== undefined,
      detail: opened === undefined ? "it never opened" : `opened at ${clock(opened.sinceStartMs)} (${opened.reason})`
    },
    {
      name: "traffic returns to the primary",
      ok: report.backOnPrimaryAtMs !== undefined && lastPrimary?.to === "closed",
      detail: report.backOnPrimaryAtMs === undefined
        ? "the primary served nothing after the outage"
        : `first served by the primary again at ${clock(report.backOnPrimaryAtMs)}, ${
          Duration.format(Duration.seconds(Math.round((report.backOnPrimaryAtMs - report.outage.toMs) / 1000)))
        } after the outage ended; its breaker is ${lastPrimary?.to ?? "closed"}`
    }
  ]
}

/**
 * `+HH:MM:SS` of a simulated offset.
 *
 * @since 0.1.0
 */
export const clock = (ms: number): string => {
  const s = Math.max(0, Math.round(ms / 1000))
  const pad = (n: number) => String(n).padStart(2, "0")
  return `+${pad(Math.floor(s / 3600))}:${pad(Math.floor((s % 3600) / 60))}:${pad(s % 60)}`
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`

/**
 * The report as text.
 *
 * @since 0.1.0
 */
export const formatReport = (report: Report): string => {
  const lines: Array<string> = []
  const pct = (n: number) => report.requests === 0 ? "0 %" : `${((100 * n) / report.requests).toFixed(1)} %`
  lines.push(`requests      ${report.requests}, served ${report.served} (${pct(report.served)}), by a fallback ${report.fellBack} (${pct(report.fellBack)})`)
  const failed = Object.entries(report.failed)
  if (failed.length > 0) lines.push(`failed        ${failed.map(([k, n]) => `${k} ×${n}`).join(", ")}`)
  lines.push(
    `upstream      ${report.upstreamCalls} calls (${(report.upstreamCalls / Math.max(1, report.requests)).toFixed(2)} per request), ${report.retries} retries, ${report.skippedOpen} skips of an open breaker, ${report.skippedRamp} held back by the failback ramp`
  )
  lines.push(`failures seen ${Object.entries(report.attemptFailures).sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ×${n}`).join(", ") || "none"}`)
  lines.push(`cost          $${report.cost.total.toFixed(2)} ($${report.cost.perServedImage.toFixed(3)} per image; failed calls are not billed)`)
  lines.push(`latency       p50 ${seconds(report.latency.p50)}, p95 ${seconds(report.latency.p95)}, p99 ${seconds(report.latency.p99)}, max ${seconds(report.latency.max)}`)
  lines.push("")
  lines.push("served by (#, model, requests served, latency from arrival to image)")
  for (const m of report.byModel) {
    lines.push(
      `  #${String(m.rank + 1)} ${m.model.padEnd(28)} ${String(m.served).padStart(4)}   ` +
        (m.served === 0 ? "" : `p50 ${seconds(m.latency.p50)}, p95 ${seconds(m.latency.p95)}, p99 ${seconds(m.latency.p99)}`) +
        `   (the simulator received ${report.providerRequests[m.model] ?? 0} requests)`
    )
  }
  lines.push("")
  lines.push(`breaker transitions (primary overloaded ${clock(report.outage.fromMs)} – ${clock(report.outage.toMs)})`)
  for (const t of report.transitions) lines.push(`  ${clock(t.sinceStartMs)}  ${t.model}: ${t.from} → ${t.to} (${t.reason})`)
  if (report.transitions.length === 0) lines.push("  none")
  lines.push("")
  lines.push("status at the end (from the client's own traffic)")
  for (const m of report.finalStatus.models) {
    lines.push(`  ${m.health.padEnd(12)} ${m.model.padEnd(28)} ${m.reason}`)
  }
  for (const note of report.finalStatus.notes) lines.push(`  note: ${note}`)
  if (report.statusUrl !== undefined) lines.push(`  status page: ${report.statusUrl}/`)
  lines.push("")
  lines.push(`timeline: requests by arrival time (10 simulated minutes a row) and the model that served them`)
  lines.push(`  ${"from".padEnd(10)}${report.byModel.map((m) => `#${m.rank + 1}`.padStart(6)).join("")}${"failed".padStart(8)}`)
  for (const slice of report.timeline) {
    const down = slice.fromMs < report.outage.toMs && slice.fromMs + SLICE_MS > report.outage.fromMs ? "   ← primary overloaded" : ""
    lines.push(
      `  ${clock(slice.fromMs).padEnd(10)}${report.byModel.map((m) => String(slice.served[m.model] ?? 0).padStart(6)).join("")}${
        String(slice.failed).padStart(8)
      }${down}`
    )
  }
  return lines.join("\n")
}
