/**
 * Overhead benchmark: the success path, side by side in one process:
 * a provider that answers at once in memory (built with `Provider.make`, so
 * it checks each request against its Schema as every provider does), called
 *   (a) the baseline: the same provider call built per call — the request
 *       built as the client builds it, then the provider's own effect with
 *       its request check — in Effect;
 *   (b) through the full default pipeline (ResilientClient: classification,
 *       breaker, retry, rate limit, fallback chain of three, status, metrics);
 *   (e) through the Effect floor: a hand-written pipeline doing the same jobs
 *       (`orElse` over the three models, `Effect.retry` with a Schedule,
 *       `timeoutFail`, a `Ref` breaker per model, one span);
 *   (c) through cockatiel `wrap(retry, circuitBreaker, timeout)` as a promise;
 *   (d) through opossum as a promise;
 * and the bare promise the last two wrap. Every variant builds its call per
 * call. Rounds alternate between variants so drift (JIT, GC, CPU frequency)
 * hits all of them alike; each figure is the median over rounds of the mean
 * time per call. Apart from the timed rounds, the Effect variants' calls are
 * counted: fibers forked, spans started and metric updates per call.
 */
import { NodeHttpClient } from "@effect/platform-node"
import { Clock, Data, Effect, Exit, Layer, Logger, LogLevel, Ref, RuntimeFlags, RuntimeFlagsPatch, Schedule, Scope } from "effect"
import {
  circuitBreaker,
  ConsecutiveBreaker,
  ExponentialBackoff,
  handleAll,
  retry,
  timeout,
  TimeoutStrategy,
  wrap
} from "cockatiel"
import CircuitBreakerOpossum from "opossum"
import * as CircuitBreaker from "../src/CircuitBreaker.js"
import type { GenerationFailure } from "../src/Failure.js"
import * as Provider from "../src/Provider.js"
import * as ResilientClient from "../src/ResilientClient.js"
import * as RetryPolicy from "../src/RetryPolicy.js"
import { Message, TextRequest, TextResult } from "../src/TextGeneration.js"
import { type Counts, countPerCall } from "./support/counters.js"

export interface OverheadRow {
  readonly variant: string
  readonly nsPerCall: number
}

export interface OverheadCounts {
  readonly variant: string
  readonly counts: Counts
}

export interface OverheadResult {
  readonly rows: ReadonlyArray<OverheadRow>
  /** The baseline's parts and each of the floor's pieces alone on the baseline, timed in the same rounds. */
  readonly pieces: ReadonlyArray<OverheadRow>
  readonly counts: ReadonlyArray<OverheadCounts>
}

const result = TextResult.make({ provider: "memory", model: "m1", content: "ok", toolCalls: [], finishReason: "stop" })
const memory = Provider.make({
  name: "memory",
  generateText: () => Effect.succeed(result),
  generateImage: () => Effect.dieMessage("unused"),
  submitVideo: () => Effect.dieMessage("unused"),
  pollVideo: () => Effect.dieMessage("unused")
})
const input: ResilientClient.TextInput = { messages: [Message.make({ role: "user", content: "hi" })] }
// as the client builds a request from its input: the input's fields and the route's model, validation left to the provider
const requestFor = (model: string) => new TextRequest({ ...input, model }, true)
/** (a): the same provider call, built per call. */
const baseline = () => memory.generateText(requestFor("m1"))

class FloorTimeout extends Data.TaggedError("FloorTimeout")<{ readonly model: string }> {}
class FloorOpen extends Data.TaggedError("FloorOpen")<{ readonly model: string }> {}
interface FloorBreaker {
  readonly failures: number
  readonly openUntil: number
}
const closed: FloorBreaker = { failures: 0, openUntil: 0 }
type FloorError = GenerationFailure | FloorTimeout | FloorOpen
interface FloorRoute {
  readonly model: string
  readonly breaker: Ref.Ref<FloorBreaker>
}

const noRuntimeMetrics = RuntimeFlagsPatch.disable(RuntimeFlags.RuntimeMetrics)
const floorSchedule = Schedule.exponential("1 second").pipe(Schedule.jittered, Schedule.intersect(Schedule.recurs(3)))
const floorSpan = { attributes: { "ai.operation": "text" }, captureStackTrace: false } as const

/**
 * (e) the Effect floor: what someone writing the same jobs by hand in Effect
 * would write, with the toolkit's default numbers — per model a consecutive
 * breaker (5 failures, open 300 s) in a `Ref`, a 120 s attempt time-out, up
 * to 4 attempts with jittered exponential backoff from 1 s; `orElse` to the
 * next model; one span over the request.
 */
const makeFloor = (models: ReadonlyArray<string>) =>
  Effect.map(Effect.forEach(models, (model) => Effect.map(Ref.make(closed), (breaker) => ({ model, breaker }))), (routes) => {
    const attempt = ({ breaker, model }: FloorRoute): Effect.Effect<TextResult, FloorError> =>
      Effect.all([Ref.get(breaker), Clock.currentTimeMillis]).pipe(
        Effect.flatMap(([state, now]): Effect.Effect<TextResult, FloorError> =>
          state.openUntil > now
            ? Effect.fail(new FloorOpen({ model }))
            : memory.generateText(requestFor(model)).pipe(
              Effect.timeoutFail({ duration: "120 seconds", onTimeout: () => new FloorTimeout({ model }) }),
              Effect.tapBoth({
                onSuccess: () => Ref.set(breaker, closed),
                onFailure: () =>
                  Ref.update(breaker, (s) => s.failures + 1 >= 5 ? { failures: 0, openUntil: now + 300_000 } : { failures: s.failures + 1, openUntil: 0 })
              })
            )
        ),
        Effect.retry({ schedule: floorSchedule, while: (e) => e._tag !== "FloorOpen" })
      )
    return () =>
      routes.slice(1).reduce(
        (chain: Effect.Effect<TextResult, FloorError>, route) => Effect.orElse(chain, () => attempt(route)),
        attempt(routes[0]!)
      ).pipe(Effect.withSpan("floor.request", floorSpan))
  })

const median = (xs: ReadonlyArray<number>) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[s.length >> 1]!
}

/** Time `n` sequential calls of an async loop; ns per call. */
const timeAsync = async (n: number, once: () => Promise<unknown>): Promise<number> => {
  const t0 = process.hrtime.bigint()
  for (let i = 0; i < n; i++) await once()
  return Number(process.hrtime.bigint() - t0) / n
}

/** Time `n` sequential calls inside one Effect fiber, each call's effect built by `once`; ns per call. */
const timeEffect = (n: number, once: () => Effect.Effect<unknown, unknown>) =>
  Effect.gen(function*() {
    const t0 = process.hrtime.bigint()
    for (let i = 0; i < n; i++) yield* once()
    return Number(process.hrtime.bigint() - t0) / n
  })

export const run = async (options: { readonly calls?: number; readonly rounds?: number } = {}): Promise<OverheadResult> => {
  const calls = options.calls ?? 20_000
  const rounds = options.rounds ?? 7

  // (b) the resilient client with its defaults, a chain of three, load control generous enough not to wait
  const program = Effect.gen(function*() {
    const client = yield* ResilientClient.make({
      text: [
        { model: "m1", provider: memory, vendor: "v1" },
        { model: "m2", provider: memory, vendor: "v2" },
        { model: "m3", provider: memory, vendor: "v3" }
      ],
      load: { requestsPerMinute: 100_000_000, concurrency: 64 }
    })
    return client
  })
  // no HTTP is made (the provider is in memory), but the client's image delivery needs a client in scope
  const runtimeLayer = Layer.mergeAll(RetryPolicy.layer(), CircuitBreaker.layer(), NodeHttpClient.layerUndici)
  const scope = Effect.runSync(Scope.make())
  const client = await Effect.runPromise(program.pipe(Effect.provide(runtimeLayer), Scope.extend(scope), Effect.orDie))
  const full = () => client.generateText(input)
  const floor = await Effect.runPromise(makeFloor(["m1", "m2", "m3"]))

  // (c) cockatiel: retry(3, exponential) ∘ breaker(5 consecutive) ∘ timeout(120 s)
  const cockatielPolicy = wrap(
    retry(handleAll, { maxAttempts: 3, backoff: new ExponentialBackoff() }),
    circuitBreaker(handleAll, { halfOpenAfter: 300_000, breaker: new ConsecutiveBreaker(5) }),
    timeout(120_000, TimeoutStrategy.Aggressive)
  )
  const barePromise = () => Promise.resolve(result)
  // (d) opossum
  const opossum = new CircuitBreakerOpossum(barePromise, { timeout: 120_000, errorThresholdPercentage: 30, resetTimeout: 300_000 })

  const quiet = <A, E>(e: Effect.Effect<A, E>) => e.pipe(Logger.withMinimumLogLevel(LogLevel.Info))
  const pieceBreaker = await Effect.runPromise(Ref.make(closed))
  // what the baseline is made of, and what each of the floor's jobs costs on its own, to say where the time goes
  const pieces: ReadonlyArray<readonly [string, () => Effect.Effect<unknown, unknown>]> = [
    ["the raw provider effect alone (no request, no check)", () => Effect.succeed(result)],
    ["building the request alone (validation off, as the client does)", () => Effect.sync(() => requestFor("m1"))],
    ["(a) + Effect.timeoutFail (120 s)", () => Effect.timeoutFail(baseline(), { duration: "120 seconds", onTimeout: () => new FloorTimeout({ model: "m1" }) })],
    ["(a) + Effect.retry (Schedule, while)", () => Effect.retry(baseline(), { schedule: floorSchedule, while: () => true })],
    ["(a) + Effect.withSpan", () => Effect.withSpan(baseline(), "floor.request", floorSpan)],
    [
      "(a) + Ref breaker (read state and clock, reset on success)",
      () =>
        Effect.flatMap(Effect.all([Ref.get(pieceBreaker), Clock.currentTimeMillis]), () => Effect.tap(baseline(), () => Ref.set(pieceBreaker, closed)))
    ],
    ["(a) + Effect.orElse (two more models, unused)", () => Effect.orElse(Effect.orElse(baseline(), baseline), baseline)],
    ["(a) + Effect.fork and await (one fiber)", () => Effect.flatMap(Effect.fork(baseline()), (fiber) => fiber.await)],
    // the default runtime updates five fiber metrics per fiber: what forking costs without them
    [
      "(a) + Effect.fork and await, runtime metrics off",
      () => Effect.withRuntimeFlagsPatch(Effect.flatMap(Effect.fork(baseline()), (fiber) => fiber.await), noRuntimeMetrics)
    ],
    [
      "(a) + Effect.timeoutFail, runtime metrics off",
      () =>
        Effect.withRuntimeFlagsPatch(
          Effect.timeoutFail(baseline(), { duration: "120 seconds", onTimeout: () => new FloorTimeout({ model: "m1" }) }),
          noRuntimeMetrics
        )
    ]
  ]
  const variants: ReadonlyArray<readonly [string, () => Promise<number>]> = [
    ["(a) baseline: the provider call built per call (Effect)", () => Effect.runPromise(quiet(timeEffect(calls, baseline)))],
    ["(b) full default pipeline (Effect)", () => Effect.runPromise(quiet(timeEffect(calls, full)))],
    ["(e) Effect floor: orElse + retry + timeoutFail + Ref breaker + one span", () => Effect.runPromise(quiet(timeEffect(calls, floor)))],
    ["bare promise", () => timeAsync(calls, barePromise)],
    ["(c) cockatiel wrap(retry, breaker, timeout)", () => timeAsync(calls, () => cockatielPolicy.execute(barePromise))],
    ["(d) opossum", () => timeAsync(calls, () => opossum.fire())],
    ...pieces.map(([name, once]) => [name, () => Effect.runPromise(quiet(timeEffect(calls, once)))] as const)
  ]
  // warm-up
  for (const [, v] of variants) await v()
  const samples = new Map<string, Array<number>>(variants.map(([name]) => [name, []]))
  for (let r = 0; r < rounds; r++) {
    for (const [name, v] of variants) samples.get(name)!.push(await v())
  }
  // counted apart from the timed rounds; every counted call of (b) must be served by the primary at its first attempt
  const counted = Math.min(calls, 2_000)
  const servedAtOnce = (served: { readonly model: string; readonly attempts: ReadonlyArray<unknown> }) => {
    if (served.model !== "m1" || served.attempts.length !== 1) {
      throw new Error(`overhead: a counted call was not a first-attempt success of m1 (${served.model}, ${served.attempts.length} attempts)`)
    }
  }
  const counts: Array<OverheadCounts> = [
    { variant: "(a)", counts: await Effect.runPromise(quiet(countPerCall(counted, baseline))) },
    { variant: "(b)", counts: await Effect.runPromise(quiet(countPerCall(counted, full, servedAtOnce))) },
    { variant: "(e)", counts: await Effect.runPromise(quiet(countPerCall(counted, floor))) }
  ]
  opossum.shutdown()
  await Effect.runPromise(Scope.close(scope, Exit.void))
  const row = (name: string): OverheadRow => ({ variant: name, nsPerCall: median(samples.get(name)!) })
  const pieceNames = new Set(pieces.map(([name]) => name))
  return {
    rows: variants.filter(([name]) => !pieceNames.has(name)).map(([name]) => row(name)),
    pieces: pieces.map(([name]) => row(name)),
    counts
  }
}
