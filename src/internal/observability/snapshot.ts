/**
 * Plain readings of Effect metrics (for reports, tests and JSON), taken from
 * `Metric.snapshot`.
 *
 * @internal
 */
import { MetricState, type MetricPair } from "effect"

export type Tags = Readonly<Record<string, string>>

export type Sample =
  | { readonly name: string; readonly tags: Tags; readonly kind: "counter"; readonly value: number }
  | { readonly name: string; readonly tags: Tags; readonly kind: "gauge"; readonly value: number }
  | {
    readonly name: string
    readonly tags: Tags
    readonly kind: "histogram"
    readonly count: number
    readonly sum: number
    /** Undefined when nothing was recorded. */
    readonly min: number | undefined
    readonly max: number | undefined
    /** `[upper bound, cumulative count]`, the last bound being `Infinity`. */
    readonly buckets: ReadonlyArray<readonly [number, number]>
  }

const toNumber = (n: number | bigint): number => (typeof n === "bigint" ? Number(n) : n)

export const toSample = (pair: MetricPair.MetricPair.Untyped): Sample | undefined => {
  const name = pair.metricKey.name
  const tags: Tags = Object.fromEntries(pair.metricKey.tags.map((label) => [label.key, label.value]))
  const state: unknown = pair.metricState
  if (MetricState.isCounterState(state)) return { name, tags, kind: "counter", value: toNumber(state.count) }
  if (MetricState.isGaugeState(state)) return { name, tags, kind: "gauge", value: toNumber(state.value) }
  if (MetricState.isHistogramState(state)) {
    const empty = state.count === 0
    return {
      name,
      tags,
      kind: "histogram",
      count: state.count,
      sum: state.sum,
      min: empty ? undefined : state.min,
      max: empty ? undefined : state.max,
      buckets: state.buckets
    }
  }
  return undefined
}

/** Samples of the named metrics, sorted by name and then by tags (stable output). */
export const select = (pairs: ReadonlyArray<MetricPair.MetricPair.Untyped>, names: ReadonlySet<string>): ReadonlyArray<Sample> =>
  pairs
    .filter((pair) => names.has(pair.metricKey.name))
    .flatMap((pair) => {
      const sample = toSample(pair)
      return sample === undefined ? [] : [sample]
    })
    .sort((a, b) => a.name.localeCompare(b.name) || JSON.stringify(a.tags).localeCompare(JSON.stringify(b.tags)))
