/**
 * The pure part of `ModelStatus`: per-model samples and verdicts, vendor-wide
 * outages, promotions and traffic shares. Public docs live on `ModelStatus`.
 *
 * @internal
 */
import { Duration } from "effect"
import type { State as BreakerState } from "../../CircuitBreaker.js"
import { countsAgainstModel } from "../../Failure.js"
import type { Health, ModelHealth, ModelStatusOptions, Observation, StatusChange, StatusSnapshot } from "../../ModelStatus.js"

/** @internal */
export interface Settings {
  readonly models: ReadonlyArray<{ readonly model: string; readonly vendor: string; readonly list: string; readonly rank: number }>
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
  return {
    models,
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

interface ModelState {
  readonly baseline: ReadonlyArray<number>
  readonly recent: ReadonlyArray<number>
  readonly consecutiveFailures: number
  readonly health: Health
  readonly reason: string
  readonly since: number
  readonly recoveredAt: number | undefined
  readonly probes: { readonly count: number; readonly cost: number }
}

/** @internal */
export interface State {
  readonly models: ReadonlyMap<string, ModelState>
  /** Per list, the models that served the last `shareWindow` successful requests. */
  readonly served: Readonly<Record<string, ReadonlyArray<string>>>
  readonly vendorOutages: ReadonlyArray<{ readonly vendor: string; readonly since: number; readonly models: ReadonlyArray<string> }>
  readonly promotions: ReadonlyArray<{ readonly list: string; readonly from: string; readonly to: string; readonly since: number }>
}

/** @internal */
export const initial = (settings: Settings, now: number): State => ({
  models: new Map(settings.models.map((m) => [m.model, {
    baseline: [],
    recent: [],
    consecutiveFailures: 0,
    health: "normal" as Health,
    reason: "no traffic yet",
    since: now,
    recoveredAt: undefined,
    probes: { count: 0, cost: 0 }
  }])),
  served: Object.fromEntries(Object.keys(settings.lists).map((l) => [l, []])),
  vendorOutages: [],
  promotions: []
})

// sample arrays are never mutated (each push makes a new one): their medians are computed once
const medians = new WeakMap<ReadonlyArray<number>, number>()

const median = (values: ReadonlyArray<number>): number | undefined => {
  if (values.length === 0) return undefined
  const known = medians.get(values)
  if (known !== undefined) return known
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  const m = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
  medians.set(values, m)
  return m
}

const push = (values: ReadonlyArray<number>, value: number, max: number) =>
  values.length >= max ? [...values.slice(values.length - max + 1), value] : [...values, value]

/** @internal */
export const record = (settings: Settings, state: State, o: Observation): State => {
  const m = state.models.get(o.model)
  if (m === undefined) return state
  let next: ModelState
  if (o.outcome === "success") {
    const base = median(m.baseline)
    // only healthy latencies make the baseline, so a slow spell cannot raise its own bar
    const healthy = m.health === "normal" && (base === undefined || m.baseline.length < settings.minBaselineSamples || o.latencyMs <= settings.delayedFactor * base)
    next = {
      ...m,
      baseline: healthy ? push(m.baseline, o.latencyMs, settings.baselineSamples) : m.baseline,
      recent: push(m.recent, o.latencyMs, settings.recentSamples),
      consecutiveFailures: 0
    }
  } else if (settings.isFailure(o)) {
    next = { ...m, consecutiveFailures: m.consecutiveFailures + 1 }
  } else {
    next = m // the model answered (a bad request, a filtered prompt, …): nothing about its health
  }
  if (o.probe === true) next = { ...next, probes: { count: next.probes.count + 1, cost: next.probes.cost + (o.cost ?? 0) } }
  const models = new Map(state.models)
  models.set(o.model, next)
  const entry = settings.models.find((x) => x.model === o.model)!
  const served = o.outcome === "success" && o.probe !== true
    ? { ...state.served, [entry.list]: [...(state.served[entry.list] ?? []), o.model].slice(-settings.shareWindow) }
    : state.served
  return { ...state, models, served }
}

const verdict = (settings: Settings, m: ModelState, breaker: BreakerState): { readonly health: Health; readonly reason: string } => {
  if (breaker === "open") return { health: "unavailable", reason: "breaker open" }
  // a trial call decides: it has not recovered until the breaker closes (the failback ramp starts then)
  if (breaker === "half-open") return { health: "unavailable", reason: "breaker half-open: a trial call decides" }
  if (m.consecutiveFailures >= settings.unavailableAfter) return { health: "unavailable", reason: `${m.consecutiveFailures} consecutive failures` }
  const base = median(m.baseline)
  const recent = median(m.recent)
  if (base !== undefined && recent !== undefined && m.baseline.length >= settings.minBaselineSamples && m.recent.length >= Math.min(3, settings.recentSamples)) {
    if (recent > settings.delayedFactor * base) {
      return { health: "delayed", reason: `median ${(recent / 1000).toFixed(1)} s > ${settings.delayedFactor} × baseline ${(base / 1000).toFixed(1)} s` }
    }
  }
  return { health: "normal", reason: "ok" }
}

/** Re-judge every model; vendor outages and promotions follow. @internal */
export const evaluate = (
  settings: Settings,
  state: State,
  breakers: ReadonlyMap<string, BreakerState>,
  now: number
): { readonly state: State; readonly changes: ReadonlyArray<StatusChange>; readonly changed: boolean } => {
  const changes: Array<StatusChange> = []
  // copied on the first change only (most evaluations change nothing)
  let models: Map<string, ModelState> | ReadonlyMap<string, ModelState> = state.models
  const write = (model: string, m: ModelState) => {
    if (models === state.models) models = new Map(state.models)
    ;(models as Map<string, ModelState>).set(model, m)
  }
  let changed = false
  for (const [model, m] of state.models) {
    const v = verdict(settings, m, breakers.get(model) ?? "closed")
    if (v.health !== m.health) {
      changes.push({ model, from: m.health, to: v.health, at: now, reason: v.reason })
      write(model, {
        ...m,
        health: v.health,
        reason: v.reason,
        since: now,
        recoveredAt: m.health === "unavailable" ? now : v.health === "unavailable" ? undefined : m.recoveredAt
      })
    } else if (v.reason !== m.reason) {
      changed = true
      write(model, { ...m, reason: v.reason })
    }
  }
  // every model of one vendor failing at once is one vendor-wide outage
  const vendors = new Map<string, Array<string>>()
  for (const m of settings.models) {
    // appended in place: copying the list for each model is quadratic in a vendor's models
    const names = vendors.get(m.vendor)
    if (names === undefined) vendors.set(m.vendor, [m.model])
    else names.push(m.model)
  }
  const vendorOutages: Array<State["vendorOutages"][number]> = []
  for (const [vendor, names] of vendors) {
    if (names.length < 2 || !names.every((n) => models.get(n)?.health === "unavailable")) continue
    const previous = state.vendorOutages.find((o) => o.vendor === vendor)
    vendorOutages.push(previous ?? { vendor, since: Math.max(...names.map((n) => models.get(n)!.since)), models: names })
  }
  // after promoteAfter without recovery (longer than a reported outage lasts), the best available fallback becomes the primary,
  // and stays so until the primary is normal again (not merely available: delayed keeps it)
  const promotions: Array<State["promotions"][number]> = []
  for (const [list, names] of Object.entries(settings.lists)) {
    const primary = names[0]
    const p = primary === undefined ? undefined : models.get(primary)
    if (primary === undefined || p === undefined || p.health === "normal") continue
    const previous = state.promotions.find((x) => x.list === list)
    if (previous === undefined && (p.health !== "unavailable" || now - p.since < settings.promoteAfterMs)) continue
    if (previous !== undefined && models.get(previous.to)?.health !== "unavailable") {
      promotions.push(previous)
      continue
    }
    const to = names.slice(1).find((n) => models.get(n)?.health !== "unavailable")
    if (to !== undefined) promotions.push({ list, from: primary, to, since: now })
  }
  if (vendorOutages.length !== state.vendorOutages.length || promotions.length !== state.promotions.length ||
    promotions.some((p, i) => p.to !== state.promotions[i]?.to)) changed = true
  return { state: { ...state, models, vendorOutages, promotions }, changes, changed }
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
export const order = (settings: Settings, state: State, list: string): ReadonlyArray<string> => {
  const names = settings.lists[list] ?? []
  const promotion = state.promotions.find((p) => p.list === list)
  return promotion === undefined ? names : [promotion.to, ...names.filter((n) => n !== promotion.to)]
}

/** @internal */
export const snapshot = (settings: Settings, state: State, breakers: ReadonlyMap<string, BreakerState>, now: number): StatusSnapshot => {
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
  const models: Array<ModelHealth> = settings.models.map((m) => {
    const s = state.models.get(m.model)!
    const served = state.served[m.list] ?? []
    return {
      model: m.model,
      vendor: m.vendor,
      rank: m.rank,
      health: s.health,
      reason: s.reason,
      since: s.since,
      recoveredAt: s.recoveredAt,
      baselineMs: median(s.baseline),
      recentMs: median(s.recent),
      breaker: breakers.get(m.model) ?? "closed",
      trafficShare: served.length === 0 ? 0 : served.filter((x) => x === m.model).length / served.length,
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
