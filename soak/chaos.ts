/**
 * Chaos soak: N requests (default 20 000) through the
 * `ResilientClient` (text and image chains, default policies: retry with
 * budget, breakers, fallback, load control) against the simulator on
 * loopback, every model drawing from every fault the simulator has
 * (HTTP errors, connection resets, hangs, truncated and malformed JSON,
 * 5 MiB bodies, slow-drip bodies, mid-response disconnects).
 *
 * It runs in virtual time (`VirtualClock`, as `Demo.run`): hangs, slow drips,
 * time-outs and backoffs cost no real time, only the loopback I/O does.
 *
 * Checked: every request ends in a success or a typed failure (nothing lost),
 * no defects, no interruptions, no sockets (client or server side) and no
 * fibers left when everything is shut down, the heap (after `gc()`) sampled
 * at every 10 % of the run. Exits 1 if a check fails.
 *
 *   node dist-soak/soak/chaos.js [--requests N] [--concurrency N] [--seed N]
 *     [--max-response-bytes N] [--json]
 *
 * Without `--expose-gc` it re-runs itself with the flag.
 */
import { NodeHttpClient } from "@effect/platform-node"
import type { HttpClient } from "@effect/platform"
import { Cause, Context, Duration, Effect, Exit, Fiber, Layer, Logger, LogLevel, Random, Redacted, Scope, Supervisor } from "effect"
import { spawn } from "node:child_process"
import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import * as CircuitBreaker from "../src/CircuitBreaker.js"
import type * as FallbackChain from "../src/FallbackChain.js"
import * as Gemini from "../src/Gemini.js"
import { VirtualClock } from "../src/internal/virtualClock.js"
import * as OpenAICompatible from "../src/OpenAICompatible.js"
import * as ResilientClient from "../src/ResilientClient.js"
import * as RetryPolicy from "../src/RetryPolicy.js"
import * as Simulator from "../src/Simulator.js"
import { Message } from "../src/TextGeneration.js"

export interface SoakOptions {
  readonly requests?: number
  /** Requests in flight at once (default 32). */
  readonly concurrency?: number
  readonly seed?: number
  /** The adapters' `maxResponseBytes` (default 1 MiB: the 5 MiB bodies are cut off). */
  readonly maxResponseBytes?: number
  /** Probability of each fault per upstream call (default 0.012: 18 % of calls faulted). */
  readonly faultRate?: number
  /**
   * Real milliseconds to wait after the run before counting sockets again
   * (default 6 000: past undici's and the server's keep-alive time-outs, so
   * idle pooled sockets are gone and whatever is left is stuck); 0 skips it.
   */
  readonly idleWaitMs?: number
  /** Print a line at every 10 %. */
  readonly progress?: (line: string) => void
}

export interface HeapSample {
  readonly done: number
  readonly heapUsed: number
}

export interface SocketCount {
  /** Connections to the simulator's port held by the client (not TIME_WAIT). */
  readonly client: number
  /** Connections accepted by the simulator (not TIME_WAIT). */
  readonly server: number
  /** TCP socket handles of the whole process (any peer). */
  readonly processTcp: number
}

export interface SoakReport {
  readonly requests: number
  readonly successes: number
  readonly typedFailures: number
  readonly untypedFailures: number
  readonly defects: number
  readonly interruptions: number
  readonly lost: number
  /** Outcomes by kind: "ok", "ok (fallback)", "<tag>/<reason>", "AllModelsFailed (last: …)". */
  readonly outcomes: Readonly<Record<string, number>>
  /** Upstream attempt outcomes (category/reason), over all requests. */
  readonly attempts: Readonly<Record<string, number>>
  /** What the simulator drew, per outcome, over all models. */
  readonly injected: Readonly<Record<string, number>>
  readonly defectSamples: ReadonlyArray<string>
  readonly sockets: {
    readonly afterRun: SocketCount
    /** After `idleWaitMs` with nothing in flight (undefined when skipped). */
    readonly afterIdle: SocketCount | undefined
    readonly afterSimulatorClosed: SocketCount
    readonly afterClientClosed: SocketCount
  }
  readonly fibers: { readonly afterRun: number; readonly afterShutdown: number }
  readonly pendingTimers: number
  readonly heap: {
    readonly gc: boolean
    readonly samples: ReadonlyArray<HeapSample>
    readonly first: number
    readonly last: number
    readonly max: number
    /** Least-squares slope, bytes per 1 000 requests. */
    readonly slopePer1k: number
  }
  readonly realMs: number
  readonly virtualMs: number
  readonly checks: ReadonlyArray<{ readonly name: string; readonly ok: boolean; readonly detail: string }>
}

const KEY = "sk-soak-0123456789abcdef"

const TEXT_MODELS = [
  { id: "gpt-4.1-mini", vendor: "openai", route: "openai" },
  { id: "gemini-2.5-flash", vendor: "google", route: "gemini" }
] as const
const IMAGE_MODELS = [
  { id: "gemini-2.5-flash-image", vendor: "google", route: "gemini", capabilities: {} },
  { id: "flux-2-pro", vendor: "bfl", route: "openai", capabilities: { defaultImageOutput: "url" as const, maxImages: 4 } },
  { id: "gpt-image-1.5", vendor: "openai", route: "openai", capabilities: { responseFormat: false, defaultImageOutput: "b64_json" as const } }
] as const

const simulatorConfig = (seed: number, rate: number): Simulator.SimulatorConfig => {
  const faults = Object.fromEntries(Simulator.FAULTS.map((f) => [f, rate]))
  return Simulator.makeConfig({
    seed,
    timeScale: 1,
    apiKeys: [KEY],
    models: [
      ...TEXT_MODELS.map((m) => ({
        id: m.id,
        vendor: m.vendor,
        kind: "text" as const,
        contextWindow: 100_000,
        latency: { medianMs: 800, p95Ms: 3_000 },
        retryAfterSeconds: 2,
        faults
      })),
      ...IMAGE_MODELS.map((m) => ({
        id: m.id,
        vendor: m.vendor,
        kind: "image" as const,
        latency: { medianMs: 4_000, p95Ms: 10_000 },
        retryAfterSeconds: 2,
        capabilities: m.capabilities,
        faults
      }))
    ]
  })
}

// ---------------------------------------------------------------------------
// sockets, from /proc/net/tcp (Linux): which side of a loopback connection
// ---------------------------------------------------------------------------

const TIME_WAIT = "06"
const LISTEN = "0A"

const procTcp = (): ReadonlyArray<{ local: number; remote: number; state: string }> => {
  try {
    return readFileSync("/proc/net/tcp", "utf8").split("\n").slice(1).flatMap((line) => {
      const cols = line.trim().split(/\s+/)
      if (cols.length < 4) return []
      const local = parseInt(cols[1]!.split(":")[1]!, 16)
      const remote = parseInt(cols[2]!.split(":")[1]!, 16)
      return [{ local, remote, state: cols[3]! }]
    })
  } catch {
    return []
  }
}

const countSockets = (port: number): SocketCount => {
  const rows = procTcp().filter((r) => r.state !== TIME_WAIT && r.state !== LISTEN)
  return {
    client: rows.filter((r) => r.remote === port).length,
    server: rows.filter((r) => r.local === port).length,
    processTcp: process.getActiveResourcesInfo().filter((r) => r === "TCPSocketWrap").length
  }
}

/** Real milliseconds (the virtual clock keeps turning the event loop meanwhile). */
const realWait = (ms: number) => Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, ms)))

const heapNow = (): number => {
  const gc = (globalThis as { gc?: () => void }).gc
  if (gc !== undefined) {
    gc()
    gc()
  }
  return process.memoryUsage().heapUsed
}

const slope = (samples: ReadonlyArray<HeapSample>): number => {
  const n = samples.length
  if (n < 2) return 0
  const mx = samples.reduce((s, p) => s + p.done, 0) / n
  const my = samples.reduce((s, p) => s + p.heapUsed, 0) / n
  let num = 0
  let den = 0
  for (const p of samples) {
    num += (p.done - mx) * (p.heapUsed - my)
    den += (p.done - mx) ** 2
  }
  return den === 0 ? 0 : (num / den) * 1000
}

const bump = (into: Record<string, number>, key: string, by = 1) => {
  into[key] = (into[key] ?? 0) + by
}

const TYPED = new Set(["HardFailure", "SoftFailure", "SilentFailure", "AllModelsFailed", "DeadlineExceeded"])

// ---------------------------------------------------------------------------
// the soak
// ---------------------------------------------------------------------------

const soak = (options: SoakOptions, clock: VirtualClock, supervisor: Supervisor.Supervisor<Array<Fiber.RuntimeFiber<any, any>>>) =>
  Effect.gen(function*() {
    const requests = options.requests ?? 20_000
    const concurrency = options.concurrency ?? 32
    const maxResponseBytes = options.maxResponseBytes ?? 1024 * 1024

    const outcomes: Record<string, number> = {}
    const attempts: Record<string, number> = {}
    const defectSamples: Array<string> = []
    let successes = 0
    let typedFailures = 0
    let untypedFailures = 0
    let defects = 0
    let interruptions = 0
    let done = 0
    const samples: Array<HeapSample> = []
    const realStart = Date.now()
    const virtualStart = clock.unsafeCurrentTimeMillis()

    const httpScope = yield* Scope.make()
    const httpContext: Context.Context<HttpClient.HttpClient> = yield* Layer.buildWithScope(NodeHttpClient.layerUndici, httpScope)
    const simScope = yield* Scope.make()
    const clientScope = yield* Scope.make()

    const { port, sim, run } = yield* Effect.gen(function*() {
      const sim = yield* Simulator.make(simulatorConfig(options.seed ?? 1, options.faultRate ?? 0.012)).pipe(
        Effect.provideService(Scope.Scope, simScope),
        Effect.orDie
      )
      const adapterOptions = { baseUrl: sim.url, apiKey: Redacted.make(KEY), timeout: Duration.seconds(30), maxResponseBytes }
      const openai = yield* Effect.orDie(OpenAICompatible.make({ name: "gateway", ...adapterOptions }))
      const gemini = yield* Effect.orDie(Gemini.make({ name: "gemini", ...adapterOptions }))
      const provider = (route: "openai" | "gemini") => (route === "gemini" ? gemini : openai)
      const breakers = yield* Effect.orDie(Effect.provide(CircuitBreaker.CircuitBreakers, CircuitBreaker.layer()))
      const policy = yield* Effect.orDie(Effect.provide(RetryPolicy.RetryPolicy, RetryPolicy.layer()))
      const client = yield* ResilientClient.make({
        text: TEXT_MODELS.map((m) => ({ model: m.id, vendor: m.vendor, provider: provider(m.route), price: 0.001 })),
        image: IMAGE_MODELS.map((m) => ({ model: m.id, vendor: m.vendor, provider: provider(m.route), price: 0.04 })),
        fallback: { attemptTimeout: "45 seconds" }
      }).pipe(
        Effect.provideService(CircuitBreaker.CircuitBreakers, breakers),
        Effect.provideService(RetryPolicy.RetryPolicy, policy),
        Effect.provideService(Scope.Scope, clientScope),
        Effect.orDie
      )

      const one = (index: number) =>
        Effect.gen(function*() {
          // arrivals spread over virtual time
          yield* Effect.sleep(Duration.millis(yield* Random.nextIntBetween(0, 2_000)))
          const isImage = index % 3 === 2
          const exit: Exit.Exit<FallbackChain.Served<unknown>, unknown> = yield* Effect.exit(
            isImage
              ? client.generateImage({ prompt: `Chaos poster ${index}: a lighthouse at dusk` }) as Effect.Effect<FallbackChain.Served<unknown>, unknown>
              : client.generateText({ messages: [Message.make({ role: "user", content: `Chaos question ${index}: why is the sky blue?` })] })
          )
          const op = isImage ? "image" : "text"
          if (Exit.isSuccess(exit)) {
            successes++
            bump(outcomes, `${op} ok${exit.value.fellBack ? " (fallback)" : ""}`)
            for (const a of exit.value.attempts) bump(attempts, a.outcome === "failure" ? `${a.category}/${a.reason}` : a.outcome === "skipped" ? `skipped/${a.reason}` : "success")
          } else {
            const cause = exit.cause
            const failure = Cause.failureOption(cause)
            if (failure._tag === "Some") {
              const e = failure.value as { readonly _tag?: string; readonly reason?: string; readonly attempts?: ReadonlyArray<FallbackChain.AttemptRecord> }
              if (e._tag !== undefined && TYPED.has(e._tag)) {
                typedFailures++
                const last = e.attempts?.filter((a) => a.outcome === "failure").at(-1)
                const key = e.reason !== undefined
                  ? `${e._tag}/${e.reason}`
                  : e._tag === "AllModelsFailed" && last === undefined
                  ? `${e._tag} (all skipped)`
                  : `${e._tag} (last: ${last?.category}/${last?.reason})`
                bump(outcomes, `${op} ${key}`)
                for (const a of e.attempts ?? []) bump(attempts, a.outcome === "failure" ? `${a.category}/${a.reason}` : a.outcome === "skipped" ? `skipped/${a.reason}` : "success")
              } else {
                untypedFailures++
                bump(outcomes, `${op} untyped failure`)
                if (defectSamples.length < 5) defectSamples.push(`untyped: ${String(failure.value)}`)
              }
            } else if (Cause.isDie(cause)) {
              defects++
              bump(outcomes, `${op} DEFECT`)
              if (defectSamples.length < 5) defectSamples.push(Cause.pretty(cause).slice(0, 2000))
            } else {
              interruptions++
              bump(outcomes, `${op} INTERRUPTED`)
            }
          }
          done++
          // the 100 % sample is taken after the socket counts below (a gc() also finalises abandoned responses)
          if (done % Math.max(1, Math.floor(requests / 10)) === 0 && done < requests && samples.length < 10) {
            samples.push({ done, heapUsed: heapNow() })
            options.progress?.(
              `  ${String(done).padStart(6)} / ${requests}  heap ${(samples.at(-1)!.heapUsed / 1048576).toFixed(1)} MB  real ${
                ((Date.now() - realStart) / 1000).toFixed(1)
              } s  virtual ${Duration.format(Duration.seconds(Math.round((clock.unsafeCurrentTimeMillis() - virtualStart) / 1000)))}`
            )
          }
        })

      const run = Effect.forEach(Array.from({ length: requests }, (_, i) => i), one, { concurrency, discard: true })
      return { port: sim.port, sim, run }
    }).pipe(Effect.provide(httpContext))

    samples.push({ done: 0, heapUsed: heapNow() })
    yield* run
    const state = yield* sim.snapshot
    const injected: Record<string, number> = {}
    for (const m of state.models) for (const [k, v] of Object.entries(m.outcomes)) bump(injected, k, v)
    const virtualMs = clock.unsafeCurrentTimeMillis() - virtualStart

    yield* realWait(300)
    const afterRun = countSockets(port)
    const idleWaitMs = options.idleWaitMs ?? 6_000
    let afterIdle: SocketCount | undefined
    if (idleWaitMs > 0) {
      yield* realWait(idleWaitMs)
      afterIdle = countSockets(port)
    }
    samples.push({ done: requests, heapUsed: heapNow() })
    const fibersAfterRun = (yield* supervisor.value).length
    yield* Scope.close(clientScope, Exit.void)
    yield* Scope.close(simScope, Exit.void)
    yield* realWait(300)
    const afterSimulatorClosed = countSockets(port)
    yield* Scope.close(httpScope, Exit.void)
    yield* realWait(300)
    const afterClientClosed = countSockets(port)
    const liveFibers = yield* supervisor.value
    const fibersAfterShutdown = (yield* Effect.forEach(liveFibers, (f) => Fiber.status(f))).filter((s) => s._tag !== "Done").length

    const heapSamples = samples
    const heap = {
      gc: typeof (globalThis as { gc?: unknown }).gc === "function",
      samples: heapSamples,
      first: heapSamples[0]!.heapUsed,
      last: heapSamples.at(-1)!.heapUsed,
      max: Math.max(...heapSamples.map((s) => s.heapUsed)),
      slopePer1k: slope(heapSamples.slice(1))
    }
    const lost = requests - (successes + typedFailures)
    const pendingTimers = (clock as unknown as { pending: ReadonlyArray<unknown> }).pending.length
    const checks = [
      { name: "nothing lost", ok: lost === 0, detail: `${requests} requests = ${successes} successes + ${typedFailures} typed failures (${lost} lost)` },
      { name: "no defects", ok: defects === 0 && untypedFailures === 0, detail: `${defects} defects, ${untypedFailures} untyped failures` },
      { name: "no interruptions", ok: interruptions === 0, detail: `${interruptions} interrupted` },
      {
        name: "no sockets left",
        ok: afterClientClosed.client === 0 && afterClientClosed.server === 0 && afterSimulatorClosed.server === 0,
        detail: `after the run ${afterRun.client} client (idle keep-alive) / ${afterRun.server} server; simulator closed ${afterSimulatorClosed.client}/${afterSimulatorClosed.server}; HTTP client closed ${afterClientClosed.client}/${afterClientClosed.server}`
      },
      ...(afterIdle === undefined ? [] : [{
        name: "no stuck sockets",
        ok: afterIdle.client === 0 && afterIdle.server === 0,
        detail: `${afterIdle.client} client / ${afterIdle.server} server sockets still open ${idleWaitMs / 1000} s after the last request (idle keep-alive ones have expired by then)`
      }]),
      { name: "no fibers left", ok: fibersAfterShutdown === 0, detail: `${fibersAfterRun} alive after the run (client, simulator up), ${fibersAfterShutdown} after shutdown` },
      {
        name: "every fault injected",
        ok: requests < 5_000 || Simulator.FAULTS.every((f) => (injected[f] ?? 0) > 0),
        detail: Simulator.FAULTS.filter((f) => (injected[f] ?? 0) === 0).join(", ") || "all"
      }
    ]
    return {
      requests,
      successes,
      typedFailures,
      untypedFailures,
      defects,
      interruptions,
      lost,
      outcomes,
      attempts,
      injected,
      defectSamples,
      sockets: { afterRun, afterIdle, afterSimulatorClosed, afterClientClosed },
      fibers: { afterRun: fibersAfterRun, afterShutdown: fibersAfterShutdown },
      pendingTimers,
      heap,
      realMs: Date.now() - realStart,
      virtualMs,
      checks
    } satisfies SoakReport
  })

/**
 * Run the soak in virtual time and return its report.
 */
export const runSoak = (options: SoakOptions = {}): Promise<SoakReport> => {
  const clock = new VirtualClock(Date.parse("2026-01-15T01:00:00Z"))
  const random = Random.make(`chaos-${options.seed ?? 1}`)
  const program = Effect.flatMap(Supervisor.track, (supervisor) => soak(options, clock, supervisor).pipe(Effect.supervised(supervisor))).pipe(
    Effect.withClock(clock),
    Effect.withRandom(random),
    // the client logs fallbacks and breaker transitions: not the point here
    Logger.withMinimumLogLevel(LogLevel.None)
  )
  return Effect.runPromise(clock.run(program, 4))
}

const mb = (bytes: number) => `${(bytes / 1048576).toFixed(2)} MB`

export const formatReport = (r: SoakReport): string => {
  const lines: Array<string> = []
  const table = (title: string, rows: Readonly<Record<string, number>>) => {
    lines.push(title)
    for (const [k, v] of Object.entries(rows).sort((a, b) => b[1] - a[1])) lines.push(`  ${k.padEnd(58)} ${String(v).padStart(7)}`)
  }
  lines.push(`chaos soak: ${r.requests} requests in ${(r.realMs / 1000).toFixed(1)} s real, ${Duration.format(Duration.seconds(Math.round(r.virtualMs / 1000)))} virtual`)
  lines.push(`  successes ${r.successes}, typed failures ${r.typedFailures}, untyped ${r.untypedFailures}, defects ${r.defects}, interrupted ${r.interruptions}, lost ${r.lost}`)
  table("outcomes by kind", r.outcomes)
  table("upstream attempts (category/reason)", r.attempts)
  table("injected by the simulator (per upstream call)", r.injected)
  const s = r.sockets
  lines.push(`sockets to the simulator (client / server, not TIME_WAIT; process TCP handles)`)
  lines.push(`  after the run (pool idle keep-alive)  ${s.afterRun.client} / ${s.afterRun.server}  (${s.afterRun.processTcp})`)
  if (s.afterIdle !== undefined) lines.push(`  after the keep-alive time-outs         ${s.afterIdle.client} / ${s.afterIdle.server}  (${s.afterIdle.processTcp})`)
  lines.push(`  after closing the simulator          ${s.afterSimulatorClosed.client} / ${s.afterSimulatorClosed.server}  (${s.afterSimulatorClosed.processTcp})`)
  lines.push(`  after closing the HTTP client        ${s.afterClientClosed.client} / ${s.afterClientClosed.server}  (${s.afterClientClosed.processTcp})`)
  lines.push(`fibers: ${r.fibers.afterRun} alive after the run, ${r.fibers.afterShutdown} after shutdown; virtual timers pending ${r.pendingTimers}`)
  lines.push(`heap used${r.heap.gc ? " after gc()" : " (no gc: run with --expose-gc)"} at every 10 %:`)
  lines.push(`  ${r.heap.samples.map((p) => mb(p.heapUsed).replace(" MB", "")).join("  ")} MB`)
  lines.push(`  first ${mb(r.heap.first)}, last ${mb(r.heap.last)}, max ${mb(r.heap.max)}, slope ${(r.heap.slopePer1k / 1024).toFixed(1)} KB per 1 000 requests (after the first sample)`)
  for (const d of r.defectSamples) lines.push(`defect sample:\n${d}`)
  for (const c of r.checks) lines.push(`${c.ok ? "✓" : "✗"} ${c.name}: ${c.detail}`)
  return lines.join("\n")
}

const parseArgs = (argv: ReadonlyArray<string>): SoakOptions & { json: boolean } => {
  const value = (name: string): number | undefined => {
    const i = argv.indexOf(name)
    if (i < 0) return undefined
    const n = Number(argv[i + 1])
    if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} needs a positive number`)
    return n
  }
  const requests = value("--requests")
  const concurrency = value("--concurrency")
  const seed = value("--seed")
  const maxResponseBytes = value("--max-response-bytes")
  const faultRate = value("--fault-rate")
  return {
    json: argv.includes("--json"),
    ...(requests === undefined ? {} : { requests: Math.floor(requests) }),
    ...(concurrency === undefined ? {} : { concurrency: Math.floor(concurrency) }),
    ...(seed === undefined ? {} : { seed: Math.floor(seed) }),
    ...(maxResponseBytes === undefined ? {} : { maxResponseBytes: Math.floor(maxResponseBytes) }),
    ...(faultRate === undefined ? {} : { faultRate })
  }
}

const main = async () => {
  if (typeof (globalThis as { gc?: unknown }).gc !== "function") {
    const child = spawn(process.execPath, [...process.execArgv, "--expose-gc", fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
      stdio: "inherit"
    })
    child.on("exit", (code) => process.exit(code ?? 1))
    return
  }
  const options = parseArgs(process.argv.slice(2))
  const report = await runSoak(options.json ? options : { ...options, progress: (line) => console.log(line) })
  console.log(options.json ? JSON.stringify(report, null, 2) : formatReport(report))
  process.exitCode = report.checks.every((c) => c.ok) ? 0 : 1
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((error) => {
    console.error(error)
    process.exitCode = 1
  })
}

