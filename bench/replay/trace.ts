/**
 * The replayed day: arrivals, outage windows and the simulator configuration.
 * Everything is derived from the seed, so every strategy sees the same trace.
 *
 * - Models: `Demo.imageModels` (the image priority list, with prices) with
 *   the demo scenario's profiles (latencies and background fault rates like
 *   those developers report); the primary also carries the hourly error-rate
 *   profile reported for it (JST:
 *   01–03 35 %, 10–12 40 %, 21–24 45 %, otherwise 7 %; the simulator's
 *   `dailyProfile`).
 * - Primary outages: one in each JST peak window the span covers, starting
 *   U(0, 30) min into it and lasting U(30, 120) min (as its reported outages do), every call a 503
 *   (a full outage). For `rampMinutes` before each, 30 % of calls answer 503
 *   and the rest are slowed by `outageLatencyFactor` 2.5 (a 30 s median call
 *   takes 75 s; reported: a 20–40 s call grows to 60–100 s). Successful calls are
 *   slowed the same way during the outage (there are none in a full outage).
 * - The sibling (`gemini-2.5-flash-image`) has two 5–15 min full outages
 *   (as its reported outages do): one 20 min into the primary's second outage (the same vendor
 *   overloaded at once), one on its own at hour 6–7.
 * - A blackout: every model down at once for `blackoutMinutes` (default
 *   U(5, 15) min from the seed, like a sibling outage), 20 min into the
 *   primary's first outage — so that "success whenever any model is up"
 *   differs from plain success (requests are classified by arrival time).
 * - Arrivals: `requests` arrivals over `hours`, a Poisson process conditioned
 *   on its count, with a rate that follows the reported UTC load shape (00–06
 *   low ×0.5, 06–12 medium ×1, 12–18 peak ×1.5, 18–24 high ×1.25).
 */
import { Schema } from "effect"
import * as Demo from "../../src/Demo.js"
import * as Simulator from "../../src/Simulator.js"

export const PRIMARY = "gemini-3-pro-image-preview"
export const SIBLING = "gemini-2.5-flash-image"
export const API_KEY = "sk-sim-replay-0123456789abcdef"

export interface TraceOptions {
  readonly hours: number
  readonly requests: number
  readonly seed: number
  /** Minutes every model is down at once; undefined: U(5, 15) from the seed; 0: none. */
  readonly blackoutMinutes: number | undefined
  readonly rampMinutes: number
  /** ISO start of the replay (default 2026-01-15T00:00:00Z = 09:00 JST). */
  readonly startAt: string
}

export interface Window {
  readonly model: string
  /** Minutes from the start. */
  readonly startMinute: number
  readonly durationMinutes: number
  readonly probability: number
  readonly kind: "ramp" | "outage" | "sibling" | "blackout"
}

export interface Trace {
  readonly options: TraceOptions
  readonly startMs: number
  readonly spanMs: number
  /** Arrival times, ms from the start, ascending. */
  readonly arrivals: Float64Array
  readonly windows: ReadonlyArray<Window>
  /** The primary's full outages (recovery = end), ms from the start. */
  readonly primaryOutages: ReadonlyArray<{ readonly fromMs: number; readonly toMs: number }>
  readonly config: Simulator.SimulatorConfig
  readonly models: ReadonlyArray<{ readonly model: string; readonly route: "gemini" | "gateway"; readonly price: number; readonly vendor: string }>
  /** Each model's normal latency (its profile without outages): median and p99, ms. */
  readonly normal: Readonly<Record<string, { readonly median: number; readonly p95: number; readonly p99: number }>>
  /** Whether at least one model is not in a full outage at `ms` (from the start). */
  readonly anyUp: (ms: number) => boolean
  /** Weight of the arrival rate per UTC hour. */
  readonly loadShape: (utcHour: number) => number
}

/** mulberry32 over a string-hashed seed. */
export const prng = (...parts: ReadonlyArray<string | number>) => {
  let h = 0x811c9dc5
  const text = parts.map(String).join("\u0000")
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  let a = h >>> 0
  return () => {
    a = (a + 0x6d2b79f5) | 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const Z95 = 1.6448536269514722
const Z99 = 2.3263478740408408

const loadShape = (utcHour: number): number => (utcHour < 6 ? 0.5 : utcHour < 12 ? 1 : utcHour < 18 ? 1.5 : 1.25)

export const OUTAGE_LATENCY_FACTOR = 2.5

export const makeTrace = (options: TraceOptions): Trace => {
  const startMs = Date.parse(options.startAt)
  const spanMs = Math.round(options.hours * 3_600_000)
  const spanMinutes = spanMs / 60_000
  const rnd = prng("replay-trace", options.seed)

  // --- outage windows ----------------------------------------------------------
  const windows: Array<Window> = []
  const primaryOutages: Array<{ fromMs: number; toMs: number }> = []
  // the JST peak hours of the reported error rates: starts at JST 01, 10, 21
  for (let minute = 0; minute < spanMinutes; minute += 60) {
    const jstHour = Math.floor(((startMs + minute * 60_000) / 3_600_000 + 9) % 24)
    if (jstHour !== 1 && jstHour !== 10 && jstHour !== 21) continue
    const start = minute + Math.round(rnd() * 30)
    const duration = 30 + Math.round(rnd() * 90)
    if (start >= spanMinutes) continue
    if (options.rampMinutes > 0) {
      windows.push({ model: PRIMARY, startMinute: start - options.rampMinutes, durationMinutes: options.rampMinutes, probability: 0.3, kind: "ramp" })
    }
    windows.push({ model: PRIMARY, startMinute: start, durationMinutes: duration, probability: 1, kind: "outage" })
    primaryOutages.push({ fromMs: start * 60_000, toMs: (start + duration) * 60_000 })
  }
  const outages = windows.filter((w) => w.kind === "outage")
  const siblingA = outages[1]
  if (siblingA !== undefined) {
    windows.push({ model: SIBLING, startMinute: siblingA.startMinute + 20, durationMinutes: 5 + Math.round(rnd() * 10), probability: 1, kind: "sibling" })
  }
  const siblingB = 6 * 60 + Math.round(rnd() * 60)
  if (siblingB < spanMinutes) {
    windows.push({ model: SIBLING, startMinute: siblingB, durationMinutes: 5 + Math.round(rnd() * 10), probability: 1, kind: "sibling" })
  }
  const first = outages[0]
  const blackoutMinutes = options.blackoutMinutes ?? 5 + Math.round(rnd() * 10)
  if (first !== undefined && blackoutMinutes > 0) {
    for (const m of Demo.imageModels) {
      windows.push({ model: m.model, startMinute: first.startMinute + 20, durationMinutes: blackoutMinutes, probability: 1, kind: "blackout" })
    }
  }

  // --- simulator configuration ---------------------------------------------------
  const encoded = Schema.encodeSync(Simulator.SimulatorConfig)(Demo.scenario)
  const config = Simulator.makeConfig({
    ...encoded,
    seed: options.seed,
    timeScale: 1,
    startAt: options.startAt,
    apiKeys: [API_KEY],
    models: (encoded.models ?? []).map((m) => ({
      ...m,
      ...(m.id === PRIMARY ? { outageLatencyFactor: OUTAGE_LATENCY_FACTOR } : {}),
      outages: windows
        .filter((w) => w.model === m.id)
        // the simulator takes the first window that covers a minute: full outages first
        .sort((a, b) => b.probability - a.probability)
        .map((w) => ({ startMinute: Math.max(0, w.startMinute), durationMinutes: w.durationMinutes, fault: "overloaded" as const, probability: w.probability }))
    }))
  })
  const models = Demo.imageModels.map((m) => ({
    ...m,
    vendor: config.models.find((p) => p.id === m.model)?.vendor ?? m.route
  }))
  const normal: Record<string, { median: number; p95: number; p99: number }> = {}
  for (const p of config.models) {
    const sigma = p.latency.p95Ms > p.latency.medianMs ? Math.log(p.latency.p95Ms / p.latency.medianMs) / Z95 : 0
    normal[p.id] = { median: p.latency.medianMs, p95: p.latency.p95Ms, p99: p.latency.medianMs * Math.exp(sigma * Z99) }
  }

  const full = windows.filter((w) => w.probability >= 1)
  const downAt = (model: string, ms: number) =>
    full.some((w) => w.model === model && ms >= w.startMinute * 60_000 && ms < (w.startMinute + w.durationMinutes) * 60_000)
  const anyUp = (ms: number) => models.some((m) => !downAt(m.model, ms))

  // --- arrivals ---------------------------------------------------------------------
  // cumulative rate per hour slice (the last slice may be partial)
  const slices: Array<{ from: number; to: number; weight: number; cumFrom: number }> = []
  let cum = 0
  for (let from = 0; from < spanMs; from += 3_600_000) {
    const to = Math.min(spanMs, from + 3_600_000)
    const weight = loadShape(new Date(startMs + from).getUTCHours())
    slices.push({ from, to, weight, cumFrom: cum })
    cum += weight * (to - from)
  }
  // order statistics of uniforms from normalised exponential spacings
  const arrivalRnd = prng("replay-arrivals", options.seed)
  const n = options.requests
  const spacings = new Float64Array(n + 1)
  let total = 0
  for (let i = 0; i <= n; i++) {
    const e = -Math.log(1 - arrivalRnd())
    spacings[i] = e
    total += e
  }
  const arrivals = new Float64Array(n)
  let acc = 0
  let s = 0
  for (let i = 0; i < n; i++) {
    acc += spacings[i]!
    const target = (acc / total) * cum
    while (s < slices.length - 1 && slices[s + 1]!.cumFrom <= target) s++
    const slice = slices[s]!
    arrivals[i] = Math.floor(slice.from + (target - slice.cumFrom) / slice.weight)
  }

  return { options, startMs, spanMs, arrivals, windows, primaryOutages, config, models, normal, anyUp, loadShape }
}
