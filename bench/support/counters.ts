/**
 * Exact per-call counts for the overhead benchmark: fibers forked, spans
 * started, metric updates and Effect run-loop steps while a number of calls
 * run. Counting costs
 * time of its own (a supervisor makes the runtime report every step), so it
 * runs apart from the timed rounds.
 *
 * - Fibers: a supervisor whose `onStart` counts; every fiber forked inside
 *   the supervised region (daemons and race legs too) inherits it.
 * - Steps: the same supervisor's `onEffect`, which the run loop calls for
 *   every operation while op supervision is on.
 * - Spans: a tracer that counts `span` and hands it to the tracer in use.
 * - Metric updates: every hook in the global metric registry, the ones
 *   already made and the ones made while counting, counts its `update` and
 *   `modify` calls; the originals are put back afterwards. A metric keeps
 *   the hook it got on its first update, so wrapping the hook objects
 *   themselves is what reaches every update, not only new keys.
 */
import { Effect, Metric, RuntimeFlags, RuntimeFlagsPatch, Supervisor, Tracer } from "effect"
import type * as MetricHook from "effect/MetricHook"
import type * as MetricKey from "effect/MetricKey"
import type * as MetricKeyType from "effect/MetricKeyType"

export interface Counts {
  readonly calls: number
  readonly fibersForked: number
  readonly spansStarted: number
  /**
   * Effect run-loop steps (one per primitive operation evaluated, in the
   * calling fiber and every fiber it forks): how much interpreting a call
   * takes, whatever the operations are.
   */
  readonly effectSteps: number
  /** `undefined` when this Effect version's registry could not be reached. */
  readonly metricUpdates: number | undefined
  /**
   * Of those, the updates of Effect's own fiber metrics (`effect_fiber_*`):
   * the default runtime has runtime metrics on, so every fiber forked
   * updates five of them (started, active up and down, lifetime, exit).
   */
  readonly runtimeMetricUpdates: number | undefined
  /** Updates per call by metric name, most first. */
  readonly byName: ReadonlyArray<readonly [string, number]>
}

class ForkCounter extends Supervisor.AbstractSupervisor<number> {
  started = 0
  steps = 0
  get value() {
    return Effect.sync(() => this.started)
  }
  override onStart(): void {
    this.started++
  }
  override onEffect(): void {
    this.steps++
  }
}

// the run loop reports each step to the supervisor only under this flag
const opSupervision = RuntimeFlagsPatch.enable(RuntimeFlags.OpSupervision)

interface MutableHook {
  update: (input: unknown) => void
  modify: (input: unknown) => void
}

type Registry = typeof Metric.globalMetricRegistry & {
  get: (key: MetricKey.MetricKey<MetricKeyType.MetricKeyType.Untyped>) => MetricHook.MetricHook.Untyped
}

/**
 * Count metric updates until the returned `stop` is called; `stop` puts the
 * registry and its hooks back as they were and gives the count (calling it
 * again gives the same count).
 */
interface MetricCount {
  readonly total: number
  readonly byName: ReadonlyMap<string, number>
}

const countMetricUpdates = (): { readonly stop: () => MetricCount | undefined } => {
  const registry = Metric.globalMetricRegistry as Registry
  // the registry keeps its hooks in a private map; without it the count would miss every metric already used
  const existing = (registry as unknown as { readonly map?: Iterable<readonly [unknown, MetricHook.MetricHook.Root]> }).map
  if (existing === undefined || typeof (existing as Partial<Iterable<unknown>>)[Symbol.iterator] !== "function") {
    return { stop: () => undefined }
  }
  let total = 0
  const byName = new Map<string, number>()
  const wrapped = new Map<MutableHook, readonly [MutableHook["update"], MutableHook["modify"]]>()
  const wrap = (hook: MetricHook.MetricHook.Untyped, key: unknown) => {
    const h = hook as unknown as MutableHook
    if (wrapped.has(h)) return
    const name = typeof key === "object" && key !== null && "name" in key && typeof key.name === "string" ? key.name : "unknown"
    const count = () => {
      total++
      byName.set(name, (byName.get(name) ?? 0) + 1)
    }
    const update = h.update
    const modify = h.modify
    wrapped.set(h, [update, modify])
    h.update = (input) => {
      count()
      update(input)
    }
    h.modify = (input) => {
      count()
      modify(input)
    }
  }
  for (const [key, hook] of existing) wrap(hook, key)
  const ownGet = Object.prototype.hasOwnProperty.call(registry, "get") ? registry.get : undefined
  const get = registry.get.bind(registry)
  registry.get = (key: MetricKey.MetricKey<MetricKeyType.MetricKeyType.Untyped>) => {
    const hook = get(key)
    wrap(hook, key)
    return hook
  }
  let stopped = false
  return {
    stop: () => {
      if (stopped) return { total, byName }
      stopped = true
      if (ownGet === undefined) delete (registry as Partial<Registry>).get
      else registry.get = ownGet
      for (const [h, [update, modify]] of wrapped) {
        h.update = update
        h.modify = modify
      }
      return { total, byName }
    }
  }
}

/** Run `once()` `calls` times in sequence and count what the calls did, per call. */
export const countPerCall = <A, E>(
  calls: number,
  once: () => Effect.Effect<A, E>,
  check: (a: A) => void = () => undefined
): Effect.Effect<Counts, E> =>
  Effect.tracerWith((inner) => {
    let spans = 0
    const tracer = Tracer.make({
      span: (name, parent, context, links, startTime, kind, options) => {
        spans++
        return inner.span(name, parent, context, links, startTime, kind, options)
      },
      context: (f, fiber) => inner.context(f, fiber)
    })
    const forks = new ForkCounter()
    const loop = Effect.gen(function*() {
      for (let i = 0; i < calls; i++) check(yield* once())
    })
    return Effect.suspend(() => {
      const metrics = countMetricUpdates()
      return loop.pipe(
        Effect.withRuntimeFlagsPatch(opSupervision),
        Effect.supervised(forks),
        Effect.withTracer(tracer),
        Effect.ensuring(Effect.sync(() => metrics.stop())),
        Effect.map((): Counts => {
          const metricUpdates = metrics.stop()
          const runtime = metricUpdates === undefined
            ? undefined
            : [...metricUpdates.byName].reduce((n, [name, k]) => (name.startsWith("effect_fiber_") ? n + k : n), 0)
          return {
            calls,
            fibersForked: forks.started / calls,
            spansStarted: spans / calls,
            effectSteps: forks.steps / calls,
            metricUpdates: metricUpdates === undefined ? undefined : metricUpdates.total / calls,
            runtimeMetricUpdates: runtime === undefined ? undefined : runtime / calls,
            byName: metricUpdates === undefined
              ? []
              : [...metricUpdates.byName].map(([name, k]) => [name, k / calls] as const).sort((x, y) => y[1] - x[1])
          }
        })
      )
    })
  })
