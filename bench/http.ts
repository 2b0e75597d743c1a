/**
 * HTTP path benchmark. Requests per second against the provider
 * simulator on loopback (no faults, no latency), at concurrency 1, 16 and
 * 256, side by side in one run:
 *
 *   bare       the same HTTP request (same endpoint, same JSON body, same
 *              headers) sent with `@effect/platform` `HttpClient`
 *              (`NodeHttpClient.layerUndici`), status checked, body decoded
 *              as JSON;
 *   adapter    the provider adapter alone (`OpenAICompatible` or `Gemini`
 *              `generateText`: bounded body read, Schema decoding,
 *              classification) — not a target, it splits the gap in two;
 *   resilient  `ResilientClient.generateText` with the default policies
 *              (`ResilientClient.policiesLayer()`) and a chain of three models
 *              over that same adapter.
 *
 * The three share one undici dispatcher (one connection pool), one Effect
 * runtime and one simulator. Every request has its own prompt, so the
 * client's shared-call cache (identical concurrent requests share one call)
 * never merges two requests: each counted request is one HTTP exchange. Load
 * control is set so it never throttles (`requestsPerMinute` 1e9, bulkhead of
 * 4096 per model).
 *
 * The simulator runs in a child process (`support/simulator-process.ts`), so
 * on a two-core machine the client has a core of its own and the server's
 * work is not charged to the client. A closed loop of `concurrency` fibers
 * sends back-to-back requests for `roundMs`; rounds alternate bare /
 * adapter / resilient so drift (JIT, GC, CPU frequency, socket state) hits
 * all of them alike; each figure is the median over rounds. Besides the rate,
 * the client process's CPU time per request (`process.cpuUsage`, all
 * threads) and the simulator's CPU load are reported, to show which side is
 * the bottleneck.
 */
import { HttpClient, HttpClientRequest } from "@effect/platform"
import { NodeHttpClient } from "@effect/platform-node"
import { Effect, Exit, Layer, Logger, LogLevel, Redacted } from "effect"
import * as Gemini from "../src/Gemini.js"
import * as OpenAICompatible from "../src/OpenAICompatible.js"
import type * as Provider from "../src/Provider.js"
import * as ResilientClient from "../src/ResilientClient.js"
import { Message, TextRequest } from "../src/TextGeneration.js"
import * as Sim from "./support/simulator.js"
import { openSockets } from "./support/sockets.js"

export type Variant = "bare" | "adapter" | "resilient"
export const VARIANTS: ReadonlyArray<Variant> = ["bare", "adapter", "resilient"]

export interface VariantFigures {
  /** Completed requests per second (median over rounds). */
  readonly rps: number
  /** Client-process CPU time per request, µs (median over rounds). */
  readonly cpuUsPerRequest: number
  /** Simulator-process CPU use during the rounds, in cores (median). */
  readonly serverCores: number
  /** Requests that failed (sum over rounds; should be 0). */
  readonly failed: number
  /** Every round's rate, in order. */
  readonly samples: ReadonlyArray<number>
}

export interface HttpRow {
  readonly concurrency: number
  readonly bare: VariantFigures
  readonly adapter: VariantFigures
  readonly resilient: VariantFigures
  /** resilient rps / bare rps. */
  readonly ratio: number
  /** Client sockets open (the undici pool) at the end of a round, the most seen at this concurrency. */
  readonly clientSockets: number
}

export interface HttpOptions {
  readonly concurrencies?: ReadonlyArray<number>
  readonly rounds?: number
  readonly roundMs?: number
  readonly warmupMs?: number
  readonly provider?: "openai" | "gemini"
  /** Progress lines on stderr. */
  readonly verbose?: boolean
}

export interface HttpRun {
  readonly rows: ReadonlyArray<HttpRow>
  readonly provider: "openai" | "gemini"
  readonly rounds: number
  readonly roundMs: number
}

export const TARGET_RATIO = 0.9
const MODELS = ["bench-text-1", "bench-text-2", "bench-text-3"] as const
const API_KEY = "sk-bench-http"

const median = (xs: ReadonlyArray<number>) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 === 1 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2
}

/** The simulator for this benchmark: three text models, no faults, no latency. */
export const simulatorConfig = {
  seed: 5,
  timeScale: 1,
  models: MODELS.map((id) => ({ id, vendor: "bench", kind: "text" as const }))
}

const cpuNow = () => {
  const u = process.cpuUsage()
  return u.user + u.system
}

export const run = async (options: HttpOptions = {}): Promise<HttpRun> => {
  const concurrencies = options.concurrencies ?? [1, 16, 256]
  const rounds = options.rounds ?? 8
  const roundMs = options.roundMs ?? 1_000
  const warmupMs = options.warmupMs ?? 1_000
  const providerKind = options.provider ?? "openai"
  const log = (line: string) => {
    if (options.verbose) process.stderr.write(`${line}\n`)
  }

  const sim = await Sim.start(simulatorConfig)
  try {
    const program = Effect.gen(function*() {
      const http = yield* HttpClient.HttpClient
      const provider: Provider.ProviderService = providerKind === "openai"
        ? yield* OpenAICompatible.make({ baseUrl: sim.url, apiKey: Redacted.make(API_KEY) })
        : yield* Gemini.make({ baseUrl: sim.url, apiKey: Redacted.make(API_KEY) })
      const client = yield* ResilientClient.make({
        text: MODELS.map((model, i) => ({ model, provider, vendor: `bench-${i + 1}` })),
        // never throttles: far more tokens than the run can use, a bulkhead wider than any concurrency
        load: { requestsPerMinute: 1_000_000_000, concurrency: 4096 }
      })

      let seq = 0
      let sockets = 0
      const prompt = (i: number) => `Benchmark request ${i}: say something short.`
      // The adapter's exact request: same URL, headers and JSON body.
      const bareRequest = (i: number) =>
        providerKind === "openai"
          ? HttpClientRequest.post(`${sim.url}/v1/chat/completions`).pipe(
            HttpClientRequest.bearerToken(API_KEY),
            HttpClientRequest.acceptJson,
            HttpClientRequest.bodyJson({ model: MODELS[0], messages: [{ role: "user", content: prompt(i) }] })
          )
          : HttpClientRequest.post(`${sim.url}/v1beta/models/${MODELS[0]}:generateContent`).pipe(
            HttpClientRequest.setHeader("x-goog-api-key", API_KEY),
            HttpClientRequest.acceptJson,
            HttpClientRequest.bodyJson({ contents: [{ role: "user", parts: [{ text: prompt(i) }] }], generationConfig: {} })
          )
      const calls: Record<Variant, (i: number) => Effect.Effect<unknown, unknown>> = {
        bare: (i) =>
          bareRequest(i).pipe(
            Effect.flatMap(http.execute),
            Effect.flatMap((response) =>
              response.status === 200 ? response.json : Effect.fail(new Error(`HTTP ${response.status}`))
            )
          ),
        // Requests are built without the Schema class constructor's own check
        // (tens of µs in Effect 3.22, the same for every variant that uses
        // the classes): every provider validates a request before sending it.
        adapter: (i) =>
          provider.generateText(new TextRequest({ model: MODELS[0], messages: [new Message({ role: "user", content: prompt(i) }, true)] }, true)),
        resilient: (i) => client.generateText({ messages: [new Message({ role: "user", content: prompt(i) }, true)] })
      }

      /** `concurrency` fibers, each sending requests back to back until `ms` have passed. */
      const round = (variant: Variant, concurrency: number, ms: number) =>
        Effect.gen(function*() {
          const call = calls[variant]
          let done = 0
          let failed = 0
          let firstError: unknown = undefined
          const server0 = yield* Effect.promise(() => sim.cpu())
          const cpu0 = cpuNow()
          const t0 = performance.now()
          const end = t0 + ms
          const worker = Effect.gen(function*() {
            while (performance.now() < end) {
              const exit = yield* Effect.exit(call(seq++))
              if (Exit.isSuccess(exit)) done++
              else {
                failed++
                firstError ??= exit.cause
              }
            }
          })
          yield* Effect.all(Array.from({ length: concurrency }, () => worker), { concurrency: "unbounded", discard: true })
          const elapsed = performance.now() - t0
          const cpu = cpuNow() - cpu0
          const server = (yield* Effect.promise(() => sim.cpu())) - server0
          sockets = Math.max(sockets, openSockets())
          if (firstError !== undefined) log(`  ${variant}: ${failed} failed, e.g. ${String(firstError)}`)
          return {
            rps: (done / elapsed) * 1000,
            cpuUsPerRequest: cpu / Math.max(1, done + failed),
            serverCores: server / (elapsed * 1000),
            failed
          }
        })

      const rows: Array<HttpRow> = []
      for (const concurrency of concurrencies) {
        sockets = 0
        // warm-up (JIT, connection pool) for every variant at this concurrency
        for (const variant of VARIANTS) yield* round(variant, concurrency, warmupMs)
        const samples: Record<Variant, Array<{ rps: number; cpuUsPerRequest: number; serverCores: number; failed: number }>> = {
          bare: [],
          adapter: [],
          resilient: []
        }
        for (let r = 0; r < rounds; r++) {
          // rotate the order too, so no variant always runs right after the same one
          for (let k = 0; k < VARIANTS.length; k++) {
            const variant = VARIANTS[(r + k) % VARIANTS.length]!
            const s = yield* round(variant, concurrency, roundMs)
            samples[variant].push(s)
            log(`c=${concurrency} round ${r + 1} ${variant}: ${s.rps.toFixed(0)} rps, ${s.cpuUsPerRequest.toFixed(0)} µs CPU/req, server ${s.serverCores.toFixed(2)} cores`)
          }
        }
        const figures = (variant: Variant): VariantFigures => ({
          rps: median(samples[variant].map((s) => s.rps)),
          cpuUsPerRequest: median(samples[variant].map((s) => s.cpuUsPerRequest)),
          serverCores: median(samples[variant].map((s) => s.serverCores)),
          failed: samples[variant].reduce((a, s) => a + s.failed, 0),
          samples: samples[variant].map((s) => s.rps)
        })
        const bare = figures("bare")
        const resilient = figures("resilient")
        rows.push({ concurrency, bare, adapter: figures("adapter"), resilient, ratio: resilient.rps / bare.rps, clientSockets: sockets })
      }
      return rows
    })

    const rows = await Effect.runPromise(
      program.pipe(
        Effect.scoped,
        Effect.provide(Layer.mergeAll(ResilientClient.policiesLayer(), NodeHttpClient.layerUndici)),
        Logger.withMinimumLogLevel(LogLevel.Info),
        Effect.orDie
      )
    )
    return { rows, provider: providerKind, rounds, roundMs }
  } finally {
    await sim.stop()
  }
}

const int = (n: number) => Math.round(n).toLocaleString("en-US")

/** The HTTP path table, markdown, with met / NOT met per concurrency. */
export const format = (result: HttpRun): string => {
  const { rows } = result
  const table = [
    "| concurrency | bare HttpClient | adapter alone | resilient client | resilient / bare | target ≥ 90 % | CPU-bound ceiling: bare CPU / resilient CPU per request |",
    "|---:|---:|---:|---:|---:|:-:|---:|",
    ...rows.map((r) =>
      `| ${r.concurrency} | ${int(r.bare.rps)} rps | ${int(r.adapter.rps)} rps | ${int(r.resilient.rps)} rps | ${(r.ratio * 100).toFixed(1)} % | ${r.ratio >= TARGET_RATIO ? "met" : "NOT met"} | ${(100 * r.bare.cpuUsPerRequest / r.resilient.cpuUsPerRequest).toFixed(1)} % |`
    )
  ].join("\n")
  const cpu = [
    "| concurrency | client CPU / request: bare | adapter | resilient | simulator load (cores): bare | adapter | resilient | failed requests | client sockets (pool, max) |",
    "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ...rows.map((r) =>
      `| ${r.concurrency} | ${int(r.bare.cpuUsPerRequest)} µs | ${int(r.adapter.cpuUsPerRequest)} µs | ${int(r.resilient.cpuUsPerRequest)} µs | ${r.bare.serverCores.toFixed(2)} | ${r.adapter.serverCores.toFixed(2)} | ${r.resilient.serverCores.toFixed(2)} | ${r.bare.failed + r.adapter.failed + r.resilient.failed} | ${r.clientSockets} |`
    )
  ].join("\n")
  const spread = [
    "| concurrency | variant | rps per round |",
    "|---:|---|---|",
    ...rows.flatMap((r) => VARIANTS.map((v) => `| ${r.concurrency} | ${v} | ${r[v].samples.map(int).join(", ")} |`))
  ].join("\n")
  return [
    `Provider adapter: ${result.provider === "openai" ? "OpenAICompatible (/v1/chat/completions)" : "Gemini (generateContent)"}; ` +
    `${result.rounds} rounds of ${result.roundMs} ms per variant and concurrency, variants alternating; median over rounds. ` +
    "Simulator in a child process on 127.0.0.1, no faults, no latency. Load control set not to throttle " +
    "(requestsPerMinute 1e9, concurrency 4096 per model). Every request has its own prompt (no shared calls).",
    "",
    table,
    "",
    cpu,
    "",
    spread
  ].join("\n")
}

/** One line per target: met / NOT met. */
export const verdicts = (result: HttpRun): ReadonlyArray<string> => {
  const missed = result.rows.filter((r) => r.ratio < TARGET_RATIO)
  return [
    `HTTP path: resilient >= 90 % of bare rps at concurrency ${result.rows.map((r) => r.concurrency).join(", ")}: ${
      missed.length === 0 ? "met" : `NOT met (${missed.map((r) => `${r.concurrency}: ${(r.ratio * 100).toFixed(1)} %`).join(", ")})`
    }`
  ]
}
