/**
 * The outage replay benchmark.
 *
 * A day of image traffic (bench/replay/trace.ts) replayed in virtual time
 * against the provider simulator over real loopback HTTP, once per strategy,
 * on the same trace and seed (a fresh simulator each time, so every strategy
 * meets the same outages and the same per-model draw sequences):
 *
 * 1. no resilience (primary only); 2. seed-001 (retry the primary);
 * 3. seed-000 (priority fallback with its breaker); 4. the toolkit's defaults
 * (and 4b, the same with per-model load control sized for the trace);
 * 5. cockatiel.
 *
 * Requests arrive in trace order and run concurrently (each forked at its
 * arrival time). Everything reported is measured in the run.
 */
import { NodeHttpClient } from "@effect/platform-node"
import { HttpClient } from "@effect/platform"
import { Deferred, Duration, Effect, Exit, Logger, LogLevel, Random } from "effect"
import { cpus } from "node:os"
import * as Demo from "../src/Demo.js"
import * as Simulator from "../src/Simulator.js"
import { ReplayClock, trackedClient } from "./replay/clock.js"
import { cockatielStrategy } from "./replay/cockatiel.js"
import {
  floor,
  idle,
  none,
  seed000,
  seed001,
  type Strategy,
  type StrategyId,
  toolkitDefaults,
  toolkitSized
} from "./replay/strategies.js"
import { makeTrace, PRIMARY, type Trace } from "./replay/trace.js"

export interface ReplayOptions {
  /** Simulated span (default 24). */
  readonly hours?: number
  /** Requests over the span (default 100 000). */
  readonly requests?: number
  readonly seed?: number
  /** Minutes every model is down at once (default: U(5, 15) drawn from the seed; 0: none). */
  readonly blackoutMinutes?: number
  /** Minutes of degradation before each primary outage (default 15). */
  readonly rampMinutes?: number
  /** Which strategies (default all). */
  readonly strategies?: ReadonlyArray<StrategyId>
  /** Load control for 4b (default 1000 rpm, 256 concurrent per model). */
  readonly sizedLoad?: { readonly requestsPerMinute: number; readonly concurrency: number }
  /** Real ms the clock tolerates looking busy before it forces a jump (default 2000). */
  readonly watchdogMs?: number
  /** Hears progress lines. */
  readonly log?: (line: string) => void
}

export interface Percentiles {
  readonly p50: number
  readonly p95: number
  readonly p99: number
  readonly max: number
}

export interface Recovery {
  /** End of the primary's outage, ms from the start. */
  readonly atMs: number
  /** From the end to the arrival of the first request the primary served. */
  readonly firstMs: number | undefined
  /** From the end to the start of the first 5-minute window of arrivals in which the primary served at least half. */
  readonly majorityMs: number | undefined
}

export interface Row {
  readonly id: StrategyId
  readonly label: string
  readonly description: string
  readonly requests: number
  readonly succeeded: number
  readonly successRate: number
  /** Requests that arrived while at least one model was not in a full outage. */
  readonly anyUpRequests: number
  readonly anyUpSucceeded: number
  readonly anyUpSuccessRate: number
  /** Latency of the successful requests, arrival to result, simulated ms. */
  readonly latency: Percentiles
  /** HTTP generation calls the simulator received (what the providers saw). */
  readonly upstreamCalls: number
  readonly callsPerRequest: number
  /** Price × every image the simulator generated (including ones the client had given up on). */
  readonly billed: number
  readonly costPerSuccess: number
  readonly servedBy: Readonly<Record<string, number>>
  readonly failures: Readonly<Record<string, number>>
  readonly perModel: ReadonlyArray<{ readonly model: string; readonly served: number; readonly p99: number; readonly normalP99: number }>
  /** undefined: the strategy never leaves the primary. */
  readonly recoveries: ReadonlyArray<Recovery> | undefined
  readonly wallMs: number
  /** CPU time of the process (user + system) while the strategy ran. */
  readonly cpuMs: number
  /** Requests that failed although a model was up at their arrival, by 10-minute slice of arrival (ms from the start), busiest first. */
  readonly failedWhileUp: ReadonlyArray<{ readonly fromMs: number; readonly failed: number }>
  /** Per hour of arrival: requests, served by the primary, served by another model, failed. */
  readonly hourly: ReadonlyArray<{ readonly requests: number; readonly primary: number; readonly fallback: number; readonly failed: number }>
  readonly simulatedMs: number
  readonly clock: { readonly jumps: number; readonly forcedJumps: number; readonly turns: number; readonly exchanges: number }
}

export interface Target {
  readonly strategy: StrategyId
  readonly name: string
  readonly met: boolean | undefined
  readonly detail: string
}

export interface ReplayResult {
  readonly options: {
    readonly hours: number
    readonly requests: number
    readonly seed: number
    readonly blackoutMinutes: number | undefined
    readonly rampMinutes: number
    readonly watchdogMs: number
    readonly strategies: ReadonlyArray<StrategyId>
    readonly sizedLoad: { readonly requestsPerMinute: number; readonly concurrency: number }
  }
  readonly machine: string
  readonly trace: {
    readonly startAt: string
    readonly windows: Trace["windows"]
    readonly primaryOutages: Trace["primaryOutages"]
    readonly normal: Trace["normal"]
    readonly arrivalsDuringNoModelUp: number
  }
  readonly rows: ReadonlyArray<Row>
  readonly targets: ReadonlyArray<Target>
  readonly totalWallMs: number
}

/** Every strategy in run order; `idle` and `floor` are diagnostics, run only when asked for. */
const ORDER: ReadonlyArray<StrategyId> = ["idle", "floor", "none", "seed-001", "seed-000", "toolkit", "toolkit-sized", "cockatiel"]
const ALL: ReadonlyArray<StrategyId> = ["none", "seed-001", "seed-000", "toolkit", "toolkit-sized", "cockatiel"]
const FULL_REQUESTS = 100_000
const FULL_HOURS = 24

// nearest-rank, as the demo reports them
const percentiles = (values: Float64Array): Percentiles => Demo.percentiles(Array.from(values))

const count = (into: Record<string, number>, key: string) => {
  into[key] = (into[key] ?? 0) + 1
}

/** Run one strategy over the trace on a fresh simulator and clock. */
const runStrategy = async (strategy: Strategy, trace: Trace, options: { seed: number; watchdogMs: number }): Promise<Row> => {
  const n = trace.arrivals.length
  const clock = new ReplayClock(trace.startMs, options.watchdogMs)
  const latency = new Float64Array(n)
  const served = new Array<string | undefined>(n)
  const failures: Record<string, number> = {}
  const modelIndex = new Map(trace.models.map((m, i) => [m.model, i]))

  const program = Effect.gen(function*() {
    const sim = yield* Simulator.make(trace.config)
    const client = trackedClient(yield* HttpClient.HttpClient, clock)
    const call = yield* strategy.make({ simUrl: sim.url, trace, clock, seed: options.seed }).pipe(
      Effect.provideService(HttpClient.HttpClient, client)
    )
    const done = yield* Deferred.make<void>()
    let outstanding = n
    if (n === 0) yield* Deferred.succeed(done, undefined)
    for (let i = 0; i < n; i++) {
      const wait = trace.startMs + trace.arrivals[i]! - clock.now
      if (wait > 0) yield* Effect.sleep(Duration.millis(wait))
      const arrived = clock.now
      yield* Effect.forkDaemon(Effect.flatMap(Effect.exit(call(`Poster ${i + 1}: a lighthouse at dusk, flat colours`)), (exit) =>
        Effect.sync(() => {
          latency[i] = clock.now - arrived
          if (Exit.isSuccess(exit)) served[i] = exit.value
          else count(failures, exit.cause._tag === "Fail" ? exit.cause.error : "defect")
          if (--outstanding === 0) Deferred.unsafeDone(done, Exit.void)
        })))
    }
    yield* Deferred.await(done)
    return yield* sim.snapshot
  })

  const wallStart = performance.now()
  const cpuStart = process.cpuUsage()
  const state = await Effect.runPromise(
    clock.run(
      program.pipe(
        Effect.scoped,
        Effect.provide(NodeHttpClient.layerUndici),
        Effect.withClock(clock),
        Effect.withRandom(Random.make(`replay-${options.seed}-${strategy.id}`)),
        // REPLAY_LOG=Info (or Warning, Debug) shows the toolkit's logs (breaker transitions, failed attempts)
        Logger.withMinimumLogLevel(LogLevel.allLevels.find((l) => l.label === process.env["REPLAY_LOG"]?.toUpperCase()) ?? LogLevel.Error)
      )
    ).pipe(Effect.withScheduler(clock.scheduler))
  )
  const wallMs = performance.now() - wallStart
  const cpu = process.cpuUsage(cpuStart)

  // --- metrics --------------------------------------------------------------------
  let succeeded = 0
  let anyUpRequests = 0
  let anyUpSucceeded = 0
  const servedBy: Record<string, number> = {}
  const okLatencies: Array<number> = []
  const byModel = trace.models.map(() => [] as Array<number>)
  const slices = new Map<number, number>()
  const hourly = Array.from({ length: Math.ceil(trace.spanMs / 3_600_000) }, () => ({ requests: 0, primary: 0, fallback: 0, failed: 0 }))
  for (let i = 0; i < n; i++) {
    const model = served[i]
    const hour = hourly[Math.min(hourly.length - 1, Math.floor(trace.arrivals[i]! / 3_600_000))]!
    hour.requests++
    if (model === undefined) hour.failed++
    else if (model === PRIMARY) hour.primary++
    else hour.fallback++
    const up = trace.anyUp(trace.arrivals[i]!)
    if (up) anyUpRequests++
    if (model === undefined) {
      if (up) {
        const slice = Math.floor(trace.arrivals[i]! / SLICE_MS) * SLICE_MS
        slices.set(slice, (slices.get(slice) ?? 0) + 1)
      }
      continue
    }
    succeeded++
    if (up) anyUpSucceeded++
    count(servedBy, model)
    okLatencies.push(latency[i]!)
    byModel[modelIndex.get(model) ?? 0]!.push(latency[i]!)
  }
  let upstreamCalls = 0
  let billed = 0
  for (const m of state.models) {
    upstreamCalls += m.requests + m.rejected
    billed += (trace.models.find((x) => x.model === m.id)?.price ?? 0) * m.outcomes.ok
  }
  const leavesPrimary = !["idle", "floor", "none", "seed-001"].includes(strategy.id)
  const recoveries = leavesPrimary ? trace.primaryOutages.map((o, k) => recovery(trace, served, o.toMs, trace.primaryOutages[k + 1]?.fromMs ?? trace.spanMs)) : undefined
  return {
    id: strategy.id,
    label: strategy.label,
    description: strategy.description,
    requests: n,
    succeeded,
    successRate: n === 0 ? 0 : succeeded / n,
    anyUpRequests,
    anyUpSucceeded,
    anyUpSuccessRate: anyUpRequests === 0 ? 0 : anyUpSucceeded / anyUpRequests,
    latency: percentiles(Float64Array.from(okLatencies)),
    upstreamCalls,
    callsPerRequest: n === 0 ? 0 : upstreamCalls / n,
    billed,
    costPerSuccess: succeeded === 0 ? 0 : billed / succeeded,
    servedBy,
    failures,
    perModel: trace.models.map((m, k) => ({
      model: m.model,
      served: byModel[k]!.length,
      p99: percentiles(Float64Array.from(byModel[k]!)).p99,
      normalP99: trace.normal[m.model]?.p99 ?? 0
    })),
    recoveries,
    wallMs,
    cpuMs: (cpu.user + cpu.system) / 1000,
    failedWhileUp: [...slices].map(([fromMs, failed]) => ({ fromMs, failed })).sort((a, b) => b.failed - a.failed || a.fromMs - b.fromMs),
    hourly,
    simulatedMs: clock.now - trace.startMs,
    clock: clock.stats()
  }
}

const WINDOW_MS = 5 * 60_000
const SLICE_MS = 10 * 60_000

/** How long after the primary's outage ended (`endMs`) traffic came back to it (searching up to `untilMs`). */
const recovery = (trace: Trace, served: ReadonlyArray<string | undefined>, endMs: number, untilMs: number): Recovery => {
  const a = trace.arrivals
  let first: number | undefined
  let i0 = 0
  while (i0 < a.length && a[i0]! < endMs) i0++
  for (let i = i0; i < a.length && a[i]! < untilMs; i++) {
    if (served[i] === PRIMARY) {
      first = a[i]! - endMs
      break
    }
  }
  let majority: number | undefined
  for (let start = endMs; start + WINDOW_MS <= untilMs && majority === undefined; start += 60_000) {
    let total = 0
    let primary = 0
    for (let i = i0; i < a.length && a[i]! < start + WINDOW_MS; i++) {
      if (a[i]! < start) continue
      total++
      if (served[i] === PRIMARY) primary++
    }
    if (total > 0 && primary * 2 >= total) majority = start - endMs
  }
  return { atMs: endMs, firstMs: first, majorityMs: majority }
}

const median = (xs: ReadonlyArray<number>) => {
  const s = [...xs].sort((x, y) => x - y)
  return s.length === 0 ? undefined : s[Math.floor((s.length - 1) / 2)]
}

/** Seconds until the return to the primary, over the recoveries (median of `first`); Infinity when it never came back. */
const returnScore = (row: Row): number | undefined =>
  row.recoveries === undefined || row.recoveries.length === 0
    ? undefined
    : median(row.recoveries.map((r) => r.firstMs ?? Number.POSITIVE_INFINITY))

const evaluate = (rows: ReadonlyArray<Row>, options: { requests: number; hours: number }): Array<Target> => {
  const targets: Array<Target> = []
  const byId = new Map(rows.map((r) => [r.id, r]))
  for (const id of ["toolkit", "toolkit-sized"] as const) {
    const t = byId.get(id)
    if (t === undefined) continue
    targets.push({
      strategy: id,
      name: ">= 99.9 % success whenever any model is up",
      met: t.anyUpSuccessRate >= 0.999,
      detail: `${pct(t.anyUpSuccessRate, 3)} of ${t.anyUpRequests} requests that arrived while a model was up`
    })
    targets.push({
      strategy: id,
      name: "<= 1.3 upstream calls per request",
      met: t.callsPerRequest <= 1.3,
      detail: `${t.callsPerRequest.toFixed(3)} (${t.upstreamCalls} calls)`
    })
    const significant = t.perModel.filter((m) => m.served >= Math.max(1, 0.01 * t.succeeded))
    const worst = significant.map((m) => ({ ...m, ratio: m.normalP99 === 0 ? 0 : m.p99 / m.normalP99 }))
    targets.push({
      strategy: id,
      name: "p99 <= 2× the serving model's normal latency (its normal p99), for each model serving >= 1 %",
      met: worst.every((m) => m.ratio <= 2),
      detail: worst.map((m) => `${m.model} ${sec(m.p99)} vs 2×${sec(m.normalP99)} ${m.ratio <= 2 ? "ok" : "over"}`).join("; ")
    })
    const metrics: Array<{ name: string; get: (r: Row) => number | undefined; higher: boolean; show: (v: number) => string }> = [
      { name: "success (any model up)", get: (r) => r.anyUpSuccessRate, higher: true, show: (v) => pct(v, 3) },
      { name: "p50", get: (r) => r.latency.p50, higher: false, show: sec },
      { name: "p95", get: (r) => r.latency.p95, higher: false, show: sec },
      { name: "p99", get: (r) => r.latency.p99, higher: false, show: sec },
      { name: "calls/request", get: (r) => r.callsPerRequest, higher: false, show: (v) => v.toFixed(3) },
      { name: "$/image", get: (r) => r.costPerSuccess, higher: false, show: (v) => `$${v.toFixed(4)}` },
      { name: "return to primary (median first)", get: returnScore, higher: false, show: (v) => (Number.isFinite(v) ? sec(v) : "never") }
    ]
    for (const other of ["seed-001", "seed-000", "cockatiel"] as const) {
      const o = byId.get(other)
      if (o === undefined) continue
      for (const m of metrics) {
        const mine = m.get(t)
        const theirs = m.get(o)
        if (mine === undefined || theirs === undefined) {
          targets.push({
            strategy: id,
            name: `better than ${o.label.split(" ")[0]} ${other} on ${m.name}`,
            met: undefined,
            detail: theirs === undefined ? `n/a: ${other} never leaves the primary` : "n/a"
          })
          continue
        }
        const better = m.higher ? mine > theirs : mine < theirs
        targets.push({
          strategy: id,
          name: `better than ${o.label.split(" ")[0]} ${other} on ${m.name}`,
          met: better,
          detail: `${m.show(mine)} vs ${m.show(theirs)}${mine === theirs ? " (equal)" : ""}`
        })
      }
    }
    const projected = t.wallMs * (FULL_REQUESTS / Math.max(1, t.requests))
    const projectedCpu = t.cpuMs * (FULL_REQUESTS / Math.max(1, t.requests))
    const exact = options.requests >= FULL_REQUESTS && options.hours >= FULL_HOURS
    targets.push({
      strategy: id,
      name: "24 h × 100 k replay < 30 s wall (this strategy alone)",
      met: exact ? t.wallMs < 30_000 : projected < 30_000,
      detail: exact
        ? `${(t.wallMs / 1000).toFixed(1)} s measured (${(t.cpuMs / 1000).toFixed(1)} s CPU)`
        : `${(t.wallMs / 1000).toFixed(1)} s wall (${(t.cpuMs / 1000).toFixed(1)} s CPU) for ${t.requests} requests over ${options.hours} h; ` +
          `projected ${(projected / 1000).toFixed(0)} s wall (${(projectedCpu / 1000).toFixed(0)} s CPU) for 100 k, linear in requests`
    })
  }
  return targets
}

export const run = async (options: ReplayOptions = {}): Promise<ReplayResult> => {
  const resolved = {
    hours: options.hours ?? FULL_HOURS,
    requests: options.requests ?? FULL_REQUESTS,
    seed: options.seed ?? 1,
    blackoutMinutes: options.blackoutMinutes,
    rampMinutes: options.rampMinutes ?? 15,
    strategies: options.strategies ?? ALL,
    sizedLoad: options.sizedLoad ?? { requestsPerMinute: 1000, concurrency: 256 },
    watchdogMs: options.watchdogMs ?? 2_000
  }
  const log = options.log ?? (() => {})
  const trace = makeTrace({
    hours: resolved.hours,
    requests: resolved.requests,
    seed: resolved.seed,
    blackoutMinutes: resolved.blackoutMinutes,
    rampMinutes: resolved.rampMinutes,
    startAt: "2026-01-15T00:00:00Z"
  })
  const strategies: Record<StrategyId, Strategy> = {
    idle,
    floor,
    none,
    "seed-001": seed001,
    "seed-000": seed000,
    toolkit: toolkitDefaults,
    "toolkit-sized": toolkitSized(resolved.sizedLoad.requestsPerMinute, resolved.sizedLoad.concurrency),
    cockatiel: cockatielStrategy
  }
  const rows: Array<Row> = []
  const t0 = performance.now()
  for (const id of ORDER.filter((s) => resolved.strategies.includes(s))) {
    log(`replaying ${strategies[id].label} …`)
    const row = await runStrategy(strategies[id], trace, { seed: resolved.seed, watchdogMs: resolved.watchdogMs })
    log(`  ${pct(row.successRate, 2)} served, ${row.callsPerRequest.toFixed(2)} calls/request, ${(row.wallMs / 1000).toFixed(1)} s wall` +
      (row.clock.forcedJumps > 0 ? `, ${row.clock.forcedJumps} forced clock jumps` : ""))
    rows.push(row)
  }
  let arrivalsDuringNoModelUp = 0
  for (const a of trace.arrivals) if (!trace.anyUp(a)) arrivalsDuringNoModelUp++
  return {
    options: resolved,
    machine: `${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, Node ${process.version}`,
    trace: { startAt: trace.options.startAt, windows: trace.windows, primaryOutages: trace.primaryOutages, normal: trace.normal, arrivalsDuringNoModelUp },
    rows,
    targets: evaluate(rows, resolved),
    totalWallMs: performance.now() - t0
  }
}

// ---------------------------------------------------------------------------
// formatting
// ---------------------------------------------------------------------------

const pct = (x: number, digits = 1) => `${(100 * x).toFixed(digits)} %`
const sec = (ms: number) => `${(ms / 1000).toFixed(1)} s`
const clockOf = (ms: number) => {
  const m = Math.round(ms / 60_000)
  return `+${String(Math.floor(m / 60)).padStart(2, "0")}:${String(m % 60).padStart(2, "0")}`
}
const dur = (ms: number | undefined) => (ms === undefined ? "—" : !Number.isFinite(ms) ? "never" : ms < 60_000 ? `${(ms / 1000).toFixed(0)} s` : `${(ms / 60_000).toFixed(1)} min`)

/** The result as markdown. */
export const format = (result: ReplayResult): string => {
  const o = result.options
  const rows = result.rows
  const lines: Array<string> = []
  const push = (...xs: Array<string>) => lines.push(...xs)
  push(
    `${o.requests} image requests over ${o.hours} h of simulated time (seed ${o.seed}), starting ${result.trace.startAt} (09:00 JST). ` +
      `Arrivals: a Poisson process conditioned on its count, its rate following the UTC load shape developers report ` +
      `(00–06 ×0.5, 06–12 ×1, 12–18 ×1.5, 18–24 ×1.25); each request starts at its arrival and runs concurrently with the others. ` +
      `Every call is real HTTP on loopback to the project's simulator through the Gemini / OpenAI-compatible adapters, in virtual time; ` +
      `every strategy replays the same trace on a fresh simulator with the same seed. Machine: ${result.machine}.`,
    ""
  )
  const windows = result.trace.windows
    .filter((w, k, all) => w.kind !== "blackout" || all.findIndex((x) => x.kind === "blackout") === k)
    .sort((a, b) => a.startMinute - b.startMinute)
    .map((w) =>
      `${clockOf(w.startMinute * 60_000)}–${clockOf((w.startMinute + w.durationMinutes) * 60_000)} ${
        w.kind === "blackout" ? "**every model down**" : w.kind === "ramp" ? `${w.model} degraded (30 % 503, successes ×2.5 slower)` : `${w.model} down`
      }`
    )
  push(
    `Trace: the primary carries the hourly error-rate profile developers report for it throughout; ${windows.join("; ")}. ` +
      `${result.trace.arrivalsDuringNoModelUp} requests arrived while no model was up.`,
    ""
  )
  push(
    "| strategy | success | success while any model is up | p50 | p95 | p99 | upstream calls / request | $ / successful image | back on the primary after a recovery (median: first · majority) | wall (CPU) |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---|---:|"
  )
  for (const r of rows) {
    const rec = r.recoveries === undefined
      ? "n/a (never leaves it)"
      : `${dur(median(r.recoveries.map((x) => x.firstMs ?? Number.POSITIVE_INFINITY)))} · ${
        dur(median(r.recoveries.map((x) => x.majorityMs ?? Number.POSITIVE_INFINITY)))
      }`
    push(
      `| ${r.label} | ${pct(r.successRate, 2)} | ${pct(r.anyUpSuccessRate, 3)} | ${sec(r.latency.p50)} | ${sec(r.latency.p95)} | ${sec(r.latency.p99)} | ${
        r.callsPerRequest.toFixed(3)
      } | $${r.costPerSuccess.toFixed(4)} | ${rec} | ${(r.wallMs / 1000).toFixed(1)} s (${(r.cpuMs / 1000).toFixed(1)} s) |`
    )
  }
  push(
    "",
    "Success: requests served / requests (a failure is whatever the strategy gave up with). Latency: arrival to result, successful requests, simulated time. " +
      "Upstream calls: generation requests the simulator received (retries and fallbacks included, image downloads not). " +
      "Cost: price per image (`Demo.imageModels`) × every image the simulator generated — including ones the client had stopped waiting for — over successful requests. " +
      "Back on the primary: after each end of a primary outage, the delay to the arrival of the first request the primary served (first), and to the start of the first " +
      "5-minute window of arrivals of which the primary served at least half (majority); the median over the outages, \"never\" when it did not happen before the next outage (or the end).",
    ""
  )

  push("### Targets", "")
  for (const t of result.targets) {
    const verdict = t.met === undefined ? "n/a" : t.met ? "met" : "**NOT met**"
    push(`- [${t.strategy}] ${t.name}: ${verdict} — ${t.detail}`)
  }
  push("")

  const withRec = rows.filter((r) => r.recoveries !== undefined)
  if (withRec.length > 0 && result.trace.primaryOutages.length > 0) {
    push("### Back on the primary after each outage (first · majority)", "")
    push(`| primary outage | ${withRec.map((r) => r.label).join(" | ")} |`, `|---|${withRec.map(() => "---").join("|")}|`)
    result.trace.primaryOutages.forEach((out, k) => {
      push(
        `| ${clockOf(out.fromMs)}–${clockOf(out.toMs)} | ${
          withRec.map((r) => {
            const x = r.recoveries![k]
            return x === undefined ? "—" : `${dur(x.firstMs ?? Number.POSITIVE_INFINITY)} · ${dur(x.majorityMs ?? Number.POSITIVE_INFINITY)}`
          }).join(" | ")
        } |`
      )
    })
    push("")
  }

  const hours = rows[0]?.hourly.length ?? 0
  if (hours > 0) {
    push("### Hour by hour: % served by the primary · by a fallback · failed", "")
    push(`| hour (UTC) | requests | ${rows.map((r) => r.label).join(" | ")} |`, `|---|---:|${rows.map(() => "---").join("|")}|`)
    for (let h = 0; h < hours; h++) {
      const n = rows[0]!.hourly[h]!.requests
      const cell = (r: Row) => {
        const x = r.hourly[h]!
        return x.requests === 0 ? "—" : `${Math.round((100 * x.primary) / x.requests)} · ${Math.round((100 * x.fallback) / x.requests)} · ${Math.round((100 * x.failed) / x.requests)}`
      }
      push(`| ${clockOf(h * 3_600_000)} | ${n} | ${rows.map(cell).join(" | ")} |`)
    }
    push("")
  }

  push("### Strategies", "")
  for (const r of rows) {
    const served = Object.entries(r.servedBy).sort((a, b) => b[1] - a[1]).map(([m, k]) => `${m} ${k}`).join(", ")
    const failed = Object.entries(r.failures).sort((a, b) => b[1] - a[1]).map(([m, k]) => `${m} ×${k}`).join(", ")
    const whileUp = r.failedWhileUp.reduce((sum, x) => sum + x.failed, 0)
    const where = r.failedWhileUp.slice(0, 3).map((x) => `${x.failed} arriving ${clockOf(x.fromMs)}–${clockOf(x.fromMs + SLICE_MS)}`).join(", ")
    const models = r.perModel.filter((m) => m.served > 0).map((m) => `${m.model} ${sec(m.p99)} (normal ${sec(m.normalP99)})`).join(", ")
    push(
      `- **${r.label}** — ${r.description}. Served: ${served || "none"}. Failed: ${failed || "none"}` +
        `${whileUp === 0 ? "" : ` (${whileUp} while a model was up: ${where}${r.failedWhileUp.length > 3 ? ", …" : ""})`}. ` +
        `p99 by serving model: ${models || "—"}. ${r.upstreamCalls} upstream calls, $${r.billed.toFixed(2)} billed. ` +
        `Simulated ${(r.simulatedMs / 3_600_000).toFixed(2)} h; clock ${r.clock.jumps} jumps, ${r.clock.forcedJumps} forced.`
    )
  }
  push(
    "",
    "cockatiel runs unmodified on the virtual timeline: `Date.now` (read by its breaker) returns the virtual clock's time while that strategy runs; " +
      "its retry backoff is its own `ExponentialBackoff`, whose computed delay is slept on the virtual clock right before the next attempt while cockatiel " +
      "itself is handed 0 ms for its real `setTimeout`; its jitter uses its `fullJitterGenerator` formula over a seeded PRNG (passed as `generator`) instead of " +
      "`Math.random`; its `timeout` policy (a real timer) is replaced by the adapters' 120 s time-out. Its breaker has no consecutive-failure trigger and no " +
      "failback ramp, its retry no budget and no `Retry-After`, and the chain has no load control — as shipped.",
    ""
  )
  const projected = (r: Row, ms: number) => (ms * FULL_REQUESTS) / Math.max(1, r.requests) / 1000
  const exact = o.requests >= FULL_REQUESTS && o.hours >= FULL_HOURS
  push(
    `Wall time: ${(result.totalWallMs / 1000).toFixed(1)} s in all. ` +
      rows.filter((r) => r.id === "toolkit" || r.id === "toolkit-sized").map((r) =>
        `${r.label}: ${(r.wallMs / 1000).toFixed(1)} s wall, ${(r.cpuMs / 1000).toFixed(1)} s CPU` +
        (exact ? "" : ` (projected to 24 h × 100 k, linear in requests: ${projected(r, r.wallMs).toFixed(0)} s wall, ${projected(r, r.cpuMs).toFixed(0)} s CPU)`)
      ).join("; ") + "."
  )
  return lines.join("\n")
}
