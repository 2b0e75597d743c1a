/**
 * The state of `ModelStatus`: per-model samples and verdicts, vendor-wide
 * outages, promotions and traffic shares. Recording an observation is O(1)
 * (ring buffers, medians kept by sorted windows, only the observed model
 * re-judged); the whole picture is evaluated only when a breaker moved or time
 * may have changed it. Public docs live on `ModelStatus`.
 *
 * @internal
 */
import { Duration } from "effect"
import type { State as BreakerState } from "../../CircuitBreaker.js"
import { countsAgainstModel } from "../../Failure.js"
import type { Health, ModelHealth, ModelStatusOptions, Observation, StatusChange, StatusSnapshot } from "../../ModelStatus.js"

/** Each model's breaker state, in the order of `Settings.models`. @internal */
export type Breakers = ReadonlyArray<BreakerState>

/** @internal */
export interface Settings {
  readonly models: ReadonlyArray<{ readonly model: string; readonly vendor: string; readonly list: string; readonly rank: number }>
  readonly byModel: ReadonlyMap<string, Settings["models"][number] & { readonly index: number }>
  /** Each vendor's models, in the order of `models`. */
  readonly vendors: ReadonlyMap<string, ReadonlyArray<string>>
  readonly lists: Readonly<Record<string, ReadonlyArray<string>>>
  readonly delayedFactor: number
  readonly baselineSamples: number
  readonly minBaselineSamples: number
  readonly recentSamples: number
  readonly unavailableAfter: number
  readonly shareWindow: number
  readonly promoteAfterMs: number
  /** Failback ramp: the share let through in each step after a recovery. */
  readonly rampShares: ReadonlyArray<number>
  readonly rampStepMs: number
  readonly isFailure: (observation: Observation) => boolean
}

/**
 * The default of `isFailure`: what the breaker counts (`countsAgainstModel`,
 * asked about a hard failure of the observation's reason), and failures of
 * unknown kind (no reason, and no category or `hard`). An observation carries
 * its failure's category and reason, not the failure; a reason without a
 * category is taken to be a hard one.
 *
 * @internal
 */
export const defaultIsFailure = (o: Observation): boolean =>
  o.reason === undefined
    ? o.category === undefined || o.category === "hard"
    : o.category !== "soft" && o.category !== "silent" && countsAgainstModel({ _tag: "HardFailure", reason: o.reason })

const DEFAULT_RAMP: ReadonlyArray<number> = [0.1, 0.25, 0.5, 1]

const positive = (value: number | undefined, fallback: number) =>
  value !== undefined && Number.isFinite(value) && value > 0 ? value : fallback

/** @internal */
export const settings = (options: ModelStatusOptions): Settings => {
  const models: Array<Settings["models"][number]> = []
  const lists: Record<string, ReadonlyArray<string>> = {}
  // a set, not a scan of the models so far: thousands of models must not be quadratic
  const seen = new Set<string>()
  for (const [list, entries] of Object.entries(options.lists)) {
    lists[list] = entries.map((e) => e.model)
    entries.forEach((e, rank) => {
      if (seen.has(e.model)) return
      seen.add(e.model)
      models.push({ model: e.model, vendor: e.vendor ?? "unknown", list, rank })
    })
  }
  const vendors = new Map<string, Array<string>>()
  for (const m of models) {
    // appended in place: copying the list for each model is quadratic in a vendor's models
    const names = vendors.get(m.vendor)
    if (names === undefined) vendors.set(m.vendor, [m.model])
    else names.push(m.model)
  }
  return {
    models,
    byModel: new Map(models.map((m, index) => [m.model, { ...m, index }])),
    vendors,
    lists,
    delayedFactor: positive(options.delayedFactor, 2),
    baselineSamples: Math.floor(positive(options.baselineSamples, 50)),
    minBaselineSamples: Math.floor(positive(options.minBaselineSamples, 5)),
    recentSamples: Math.floor(positive(options.recentSamples, 5)),
    unavailableAfter: Math.floor(positive(options.unavailableAfter, 3)),
    shareWindow: Math.floor(positive(options.shareWindow, 100)),
    promoteAfterMs: Duration.toMillis(Duration.decode(options.promoteAfter ?? Duration.hours(2))),
    rampShares: (options.ramp?.shares ?? DEFAULT_RAMP).filter((x) => Number.isFinite(x) && x > 0 && x <= 1),
    isFailure: options.isFailure ?? defaultIsFailure,
    rampStepMs: positive(Duration.toMillis(Duration.decode(options.ramp?.step ?? Duration.minutes(1))), 60_000)
  }
}

/**
 * The last `capacity` values in arrival order (a ring) and the same values kept
 * sorted beside it: a push is two binary searches and a move of at most
 * `capacity` numbers, the median a read. (NaN, which has no order, is kept
 * last.)
 */
class Samples {
  private readonly ring: Array<number> = []
  private oldest = 0
  private readonly sorted: Array<number> = []
  constructor(private readonly capacity: number) {}
  get length(): number {
    return this.sorted.length
  }
  push(value: number): void {
    if (this.ring.length < this.capacity) {
      this.ring.push(value)
    } else {
      const evicted = this.ring[this.oldest]!
      this.ring[this.oldest] = value
      this.oldest = (this.oldest + 1) % this.capacity
      this.sorted.splice(position(this.sorted, evicted), 1)
    }
    this.sorted.splice(position(this.sorted, value), 0, value)
  }
  median(): number | undefined {
    const sorted = this.sorted
    if (sorted.length === 0) return undefined
    const mid = sorted.length >> 1
    return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
  }
}

/** The first index of `sorted` holding a value not below `value` (NaN sorts last). */
const position = (sorted: ReadonlyArray<number>, value: number): number => {
  let lo = 0
  let hi = sorted.length
  const nan = Number.isNaN(value)
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    const x = sorted[mid]!
    if (nan ? !Number.isNaN(x) : x < value) lo = mid + 1
    else hi = mid
  }
  return lo
}

/** Which models served the last `capacity` successful requests of a list, with a count per model. */
class Served {
  private readonly ring: Array<string> = []
  private oldest = 0
  private readonly counts = new Map<string, number>()
  constructor(private readonly capacity: number) {}
  push(model: string): void {
    if (this.ring.length < this.capacity) {
      this.ring.push(model)
    } else {
      const evicted = this.ring[this.oldest]!
      this.ring[this.oldest] = model
      this.oldest = (this.oldest + 1) % this.capacity
      this.counts.set(evicted, this.counts.get(evicted)! - 1)
    }
    this.counts.set(model, (this.counts.get(model) ?? 0) + 1)
  }
  share(model: string): number {
    return this.ring.length === 0 ? 0 : (this.counts.get(model) ?? 0) / this.ring.length
  }
}

interface ModelState {
  readonly baseline: Samples
  readonly recent: Samples
  consecutiveFailures: number
  health: Health
  reason: string
  since: number
  recoveredAt: number | undefined
  /** Replaced, never changed in place: a snapshot already handed out keeps its own. */
  probes: { readonly count: number; readonly cost: number }
}

/**
 * The status's state, changed in place (each change is one synchronous step,
 * so fibers never see half of one). Every model's `health` and `reason` are its
 * verdict as of the last evaluation; a record re-judges only its own model
 * unless a breaker moved or time may have changed something (see
 * {@link settle}).
 *
 * @internal
 */
export interface State {
  readonly models: ReadonlyMap<string, ModelState>
  /** Per list, the models that served the last `shareWindow` successful requests. */
  readonly served: Readonly<Record<string, Served>>
  vendorOutages: ReadonlyArray<{ readonly vendor: string; readonly since: number; readonly models: ReadonlyArray<string> }>
  promotions: ReadonlyArray<{ readonly list: string; readonly from: string; readonly to: string; readonly since: number }>
  /** The breaker states the last evaluation judged by (undefined before the first). */
  breakers: Breakers | undefined
}

/** @internal */
export const initial = (settings: Settings, now: number): State => ({
  models: new Map(settings.models.map((m) => [m.model, {
    baseline: new Samples(settings.baselineSamples),
    recent: new Samples(settings.recentSamples),
    consecutiveFailures: 0,
    health: "normal" as Health,
    reason: "no traffic yet",
    since: now,
    recoveredAt: undefined,
    probes: { count: 0, cost: 0 }
  }])),
  served: Object.fromEntries(Object.keys(settings.lists).map((l) => [l, new Served(settings.shareWindow)])),
  vendorOutages: [],
  promotions: [],
  breakers: undefined
})

/** Add one observation to the samples and counters of its model, in place; the model it was about, if it is known. @internal */
export const record = (settings: Settings, state: State, o: Observation): string | undefined => {
  const m = state.models.get(o.model)
  if (m === undefined) return undefined
  if (o.outcome === "success") {
    const base = m.baseline.median()
    // only healthy latencies make the baseline, so a slow spell cannot raise its own bar
    const healthy = m.health === "normal" && (base === undefined || m.baseline.length < settings.minBaselineSamples || o.latencyMs <= settings.delayedFactor * base)
    if (healthy) m.baseline.push(o.latencyMs)
    m.recent.push(o.latencyMs)
    m.consecutiveFailures = 0
  } else if (settings.isFailure(o)) {
    m.consecutiveFailures++
  } // else the model answered (a bad request, a filtered prompt, …): nothing about its health
  if (o.probe === true) m.probes = { count: m.probes.count + 1, cost: m.probes.cost + (o.cost ?? 0) }
  if (o.outcome === "success" && o.probe !== true) state.served[settings.byModel.get(o.model)!.list]?.push(o.model)
  return o.model
}

const verdict = (settings: Settings, m: ModelState, breaker: BreakerState): { readonly health: Health; readonly reason: string } => {
  if (breaker === "open") return { health: "unavailable", reason: "breaker open" }
  // a trial call decides: it has not recovered until the breaker closes (the failback ramp starts then)
  if (breaker === "half-open") return { health: "unavailable", reason: "breaker half-open: a trial call decides" }
  if (m.consecutiveFailures >= settings.unavailableAfter) return { health: "unavailable", reason: `${m.consecutiveFailures} consecutive failures` }
  const base = m.baseline.median()
  const recent = m.recent.median()
  if (base !== undefined && recent !== undefined && m.baseline.length >= settings.minBaselineSamples && m.recent.length >= Math.min(3, settings.recentSamples)) {
    if (recent > settings.delayedFactor * base) {
      return { health: "delayed", reason: `median ${(recent / 1000).toFixed(1)} s > ${settings.delayedFactor} × baseline ${(base / 1000).toFixed(1)} s` }
    }
  }
  return { health: "normal", reason: "ok" }
}

interface Verdicts {
  readonly health: Health
  readonly reason: string
  readonly since: number
  readonly recoveredAt: number | undefined
}

/**
 * A re-judgement of every model, with the vendor outages and promotions that
 * follow, not applied yet ({@link commit} applies it).
 *
 * @internal
 */
export interface Evaluation {
  readonly changes: ReadonlyArray<StatusChange>
  readonly changed: boolean
  readonly writes: ReadonlyMap<string, Verdicts>
  readonly vendorOutages: State["vendorOutages"]
  readonly promotions: State["promotions"]
  readonly breakers: Breakers
}

/** Re-judge every model; vendor outages and promotions follow. Changes nothing. @internal */
export const evaluate = (
  settings: Settings,
  state: State,
  breakers: Breakers,
  now: number
): Evaluation => {
  const changes: Array<StatusChange> = []
  const writes = new Map<string, Verdicts>()
  let changed = false
  for (let i = 0; i < settings.models.length; i++) {
    const model = settings.models[i]!.model
    const m = state.models.get(model)!
    const v = verdict(settings, m, breakers[i] ?? "closed")
    if (v.health !== m.health) {
      changes.push({ model, from: m.health, to: v.health, at: now, reason: v.reason })
      writes.set(model, {
        health: v.health,
        reason: v.reason,
        since: now,
        recoveredAt: m.health === "unavailable" ? now : v.health === "unavailable" ? undefined : m.recoveredAt
      })
    } else if (v.reason !== m.reason) {
      changed = true
      writes.set(model, { health: m.health, reason: v.reason, since: m.since, recoveredAt: m.recoveredAt })
    }
  }
  const health = (model: string): Health | undefined => writes.get(model)?.health ?? state.models.get(model)?.health
  const since = (model: string): number => writes.get(model)?.since ?? state.models.get(model)!.since
  // every model of one vendor failing at once is one vendor-wide outage
  const vendorOutages: Array<State["vendorOutages"][number]> = []
  for (const [vendor, names] of settings.vendors) {
    if (names.length < 2 || !names.every((n) => health(n) === "unavailable")) continue
    const previous = state.vendorOutages.find((o) => o.vendor === vendor)
    vendorOutages.push(previous ?? { vendor, since: Math.max(...names.map(since)), models: names })
  }
  // after promoteAfter without recovery (longer than a reported outage lasts), the best available fallback becomes the primary,
  // and stays so until the primary is normal again (not merely available: delayed keeps it)
  const promotions: Array<State["promotions"][number]> = []
  for (const [list, names] of Object.entries(settings.lists)) {
    const primary = names[0]
    const p = primary === undefined ? undefined : health(primary)
    if (primary === undefined || p === undefined || p === "normal") continue
    const previous = state.promotions.find((x) => x.list === list)
    if (previous === undefined && (p !== "unavailable" || now - since(primary) < settings.promoteAfterMs)) continue
    if (previous !== undefined && health(previous.to) !== "unavailable") {
      promotions.push(previous)
      continue
    }
    const to = names.slice(1).find((n) => health(n) !== "unavailable")
    if (to !== undefined) promotions.push({ list, from: primary, to, since: now })
  }
  if (vendorOutages.length !== state.vendorOutages.length || promotions.length !== state.promotions.length ||
    promotions.some((p, i) => p.to !== state.promotions[i]?.to)) changed = true
  return { changes, changed, writes, vendorOutages, promotions, breakers }
}

/** Apply an evaluation. @internal */
export const commit = (state: State, evaluation: Evaluation): void => {
  for (const [model, v] of evaluation.writes) {
    const m = state.models.get(model)!
    m.health = v.health
    m.reason = v.reason
    m.since = v.since
    m.recoveredAt = v.recoveredAt
  }
  state.vendorOutages = evaluation.vendorOutages
  state.promotions = evaluation.promotions
  state.breakers = evaluation.breakers
}

const sameBreakers = (a: Breakers | undefined, b: Breakers): boolean => {
  if (a === undefined || a.length !== b.length) return false
  for (let i = 0; i < b.length; i++) if (a[i] !== b[i]) return false
  return true
}

/**
 * Settle the state after a change to `model`'s samples (or to none): "quiet"
 * when nothing anyone sees changed (then it is settled), "loud" when something
 * did (nothing is applied: the caller evaluates and publishes under its
 * lock). Only `model` is re-judged while the breakers stand as they were last
 * judged and `deadline` (the next moment at which time alone changes the
 * picture) has not come: every other model's verdict is then as it was.
 *
 * @internal
 */
export const settle = (
  settings: Settings,
  state: State,
  model: string | undefined,
  breakers: Breakers,
  deadline: number | undefined,
  now: number
): "quiet" | "loud" => {
  if (sameBreakers(state.breakers, breakers) && (deadline === undefined || now < deadline)) {
    const entry = model === undefined ? undefined : settings.byModel.get(model)
    if (entry === undefined) return "quiet"
    const m = state.models.get(entry.model)!
    const v = verdict(settings, m, breakers[entry.index] ?? "closed")
    return v.health === m.health && v.reason === m.reason ? "quiet" : "loud"
  }
  const evaluation = evaluate(settings, state, breakers, now)
  if (evaluation.changes.length > 0 || evaluation.changed) return "loud"
  commit(state, evaluation)
  return "quiet"
}

/** The failback ramp's share for a model now, `undefined` when it is not ramping. @internal */
export const rampOf = (settings: Settings, state: State, model: string, now: number): number | undefined => {
  const m = state.models.get(model)
  if (m === undefined || m.recoveredAt === undefined || m.health === "unavailable") return undefined
  const k = Math.floor((now - m.recoveredAt) / settings.rampStepMs)
  return k < 0 || k >= settings.rampShares.length ? undefined : settings.rampShares[k]
}

/**
 * The next moment at which time alone changes the picture (a ramp step, a
 * promotion falling due), strictly after `now`; `undefined` when none.
 *
 * @internal
 */
export const nextDeadline = (settings: Settings, state: State, now: number): number | undefined => {
  let next: number | undefined
  const consider = (t: number) => {
    if (t > now && (next === undefined || t < next)) next = t
  }
  for (const m of state.models.values()) {
    if (m.recoveredAt === undefined || m.health === "unavailable") continue
    const k = Math.floor((now - m.recoveredAt) / settings.rampStepMs)
    if (k < settings.rampShares.length) consider(m.recoveredAt + (Math.max(k, 0) + 1) * settings.rampStepMs)
  }
  for (const [list, names] of Object.entries(settings.lists)) {
    const p = names[0] === undefined ? undefined : state.models.get(names[0])
    if (p !== undefined && p.health === "unavailable" && !state.promotions.some((x) => x.list === list)) {
      consider(p.since + settings.promoteAfterMs)
    }
  }
  return next
}

/** @internal */
export const order = (settings: Settings, promotions: State["promotions"], list: string): ReadonlyArray<string> => {
  const names = settings.lists[list] ?? []
  const promotion = promotions.find((p) => p.list === list)
  return promotion === undefined ? names : [promotion.to, ...names.filter((n) => n !== promotion.to)]
}

/** @internal */
export const snapshot = (settings: Settings, state: State, breakers: Breakers, now: number): StatusSnapshot => {
  const notes: Array<string> = []
  for (const o of state.vendorOutages) notes.push(`vendor-wide outage: ${o.vendor} (${o.models.join(", ")} all unavailable)`)
  const serving = new Set<string>()
  for (const [list, names] of Object.entries(settings.lists)) {
    const firstDown = names.findIndex((n) => state.models.get(n)?.health === "unavailable")
    if (firstDown < 0) continue
    const standIn = names.slice(firstDown + 1).find((n) => state.models.get(n)?.health !== "unavailable")
    if (standIn === undefined) {
      notes.push(`${list}: every model is unavailable`)
      continue
    }
    if (names.indexOf(standIn) > 0 && names.slice(0, names.indexOf(standIn)).some((n) => state.models.get(n)?.health === "unavailable")) {
      serving.add(standIn)
      const inPlaceOf = names.slice(0, names.indexOf(standIn)).filter((n) => state.models.get(n)?.health === "unavailable")
      const vendorWide = state.vendorOutages.find((o) => inPlaceOf.every((n) => o.models.includes(n)))
      notes.push(`${standIn} is serving in place of ${vendorWide === undefined ? inPlaceOf.join(", ") : `${vendorWide.vendor} (vendor-wide outage)`}`)
    }
  }
  for (const m of settings.models) {
    const share = rampOf(settings, state, m.model, now)
    if (share !== undefined && share < 1) notes.push(`${m.model} is back: it takes ${Math.round(share * 100)} % of its traffic for now (failback ramp)`)
  }
  for (const p of state.promotions) notes.push(`${p.to} promoted to primary of ${p.list}: ${p.from} unavailable for over ${Duration.format(Duration.millis(settings.promoteAfterMs))}`)
  const models: Array<ModelHealth> = settings.models.map((m, i) => {
    const s = state.models.get(m.model)!
    return {
      model: m.model,
      vendor: m.vendor,
      rank: m.rank,
      health: s.health,
      reason: s.reason,
      since: s.since,
      recoveredAt: s.recoveredAt,
      baselineMs: s.baseline.median(),
      recentMs: s.recent.median(),
      breaker: breakers[i] ?? "closed",
      trafficShare: state.served[m.list]?.share(m.model) ?? 0,
      servingAsFallback: serving.has(m.model),
      ramp: rampOf(settings, state, m.model, now),
      probes: s.probes
    }
  })
  return {
    at: now,
    models,
    vendorOutages: state.vendorOutages,
    promotions: state.promotions.map(({ from, since, to }) => ({ from, to, since })),
    notes
  }
}
