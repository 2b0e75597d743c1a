/**
 * Overhead benchmark: the success path, side by side in one process:
 * a provider that answers at once in memory, called
 *   (a) bare, in Effect;
 *   (b) through the full default pipeline (ResilientClient: classification,
 *       breaker, retry, rate limit, fallback chain of three, status, metrics);
 *   (c) through cockatiel `wrap(retry, circuitBreaker, timeout)` as a promise;
 *   (d) through opossum as a promise;
 * and the bare promise the last two wrap. Rounds alternate between variants
 * so drift (JIT, GC, CPU frequency) hits all of them alike; each figure is
 * the median over rounds of the mean time per call.
 */
import { NodeHttpClient } from "@effect/platform-node"
import { Effect, Exit, Layer, Logger, LogLevel, Scope } from "effect"
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
import * as Provider from "../src/Provider.js"
import * as ResilientClient from "../src/ResilientClient.js"
import * as RetryPolicy from "../src/RetryPolicy.js"
import { Message, TextRequest, TextResult } from "../src/TextGeneration.js"

export interface OverheadRow {
  readonly variant: string
  readonly nsPerCall: number
}

const result = TextResult.make({ provider: "memory", model: "m1", content: "ok", toolCalls: [], finishReason: "stop" })
const memory = Provider.make({
  name: "memory",
  generateText: () => Effect.succeed(result),
  generateImage: () => Effect.dieMessage("unused"),
  submitVideo: () => Effect.dieMessage("unused"),
  pollVideo: () => Effect.dieMessage("unused")
})
const request = TextRequest.make({ model: "m1", messages: [Message.make({ role: "user", content: "hi" })] })
const input: ResilientClient.TextInput = { messages: [Message.make({ role: "user", content: "hi" })] }

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

/** Time `n` sequential calls inside one Effect fiber; ns per call. */
const timeEffect = <R>(n: number, once: Effect.Effect<unknown, unknown, R>) =>
  Effect.gen(function*() {
    const t0 = process.hrtime.bigint()
    for (let i = 0; i < n; i++) yield* once
    return Number(process.hrtime.bigint() - t0) / n
  })

export const run = async (options: { readonly calls?: number; readonly rounds?: number } = {}): Promise<ReadonlyArray<OverheadRow>> => {
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
  const variants: ReadonlyArray<readonly [string, () => Promise<number>]> = [
    ["(a) bare provider call (Effect)", () => Effect.runPromise(quiet(timeEffect(calls, memory.generateText(request))))],
    ["(b) full default pipeline (Effect)", () => Effect.runPromise(quiet(timeEffect(calls, client.generateText(input))))],
    ["bare promise", () => timeAsync(calls, barePromise)],
    ["(c) cockatiel wrap(retry, breaker, timeout)", () => timeAsync(calls, () => cockatielPolicy.execute(barePromise))],
    ["(d) opossum", () => timeAsync(calls, () => opossum.fire())]
  ]
  // warm-up
  for (const [, v] of variants) await v()
  const samples = new Map<string, Array<number>>(variants.map(([name]) => [name, []]))
  for (let r = 0; r < rounds; r++) {
    for (const [name, v] of variants) samples.get(name)!.push(await v())
  }
  opossum.shutdown()
  await Effect.runPromise(Scope.close(scope, Exit.void))
  return variants.map(([name]) => ({ variant: name, nsPerCall: median(samples.get(name)!) }))
}
