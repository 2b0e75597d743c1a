/**
 * Strategy 5: cockatiel 4.0 configured as closely to the usual settings
 * (exponential backoff with jitter; a breaker over 60 s, >= 5 calls, >= 30 %,
 * 300 s open) and the toolkit's defaults as it allows — per model a retry
 * around a circuit breaker, and a `fallback` policy per step of the priority
 * list.
 *
 * Fitting it onto the replay's virtual time (cockatiel itself is unmodified):
 *
 * - Its breaker reads `Date.now()` (`CircuitBreakerPolicy`, `SamplingBreaker`):
 *   while this strategy runs, `Date.now` returns the virtual clock's time
 *   (restored when the strategy's scope closes). Nothing else in the process
 *   depends on `Date.now` during the run (the simulator, adapters and
 *   policies read Effect's `Clock`; Node's HTTP date header uses `new Date()`).
 * - Its retry waits with a real `setTimeout(backoff.duration)`. The backoff is
 *   cockatiel's own `ExponentialBackoff`, wrapped: the wrapper hands cockatiel
 *   a duration of 0 (so cockatiel's timer fires at once, and the replay clock
 *   holds still meanwhile) and the duration cockatiel's backoff computed is
 *   slept on the virtual clock at the start of the next attempt — the same
 *   wait, at the same place, on simulated time.
 * - Its jitter uses `Math.random()`: the generator is cockatiel's
 *   `fullJitterGenerator` formula (`floor(U·min(maxDelay, initial·2^n))`) over
 *   a seeded PRNG, passed through `ExponentialBackoff`'s `generator` option.
 * - Its `timeout` policy uses a real `setTimeout`: not used; the adapters'
 *   own 120 s time-out (on the virtual clock) stands in for it.
 */
import {
  BrokenCircuitError,
  circuitBreaker,
  ExponentialBackoff,
  fallback,
  type GeneratorFn,
  handleWhen,
  type IBackoff,
  type IBackoffFactory,
  type IRetryBackoffContext,
  noJitterGenerator,
  retry,
  SamplingBreaker
} from "cockatiel"
import { Cause, Duration, Effect, Exit, Runtime } from "effect"
import * as CircuitBreaker from "../../src/CircuitBreaker.js"
import { isFallbackEligible, isGenerationFailure, isRetryable } from "../../src/Failure.js"
import { ImageRequest } from "../../src/ImageGeneration.js"
import type { ReplayClock } from "./clock.js"
import { providers, reasonOf, type Strategy } from "./strategies.js"
import { prng } from "./trace.js"

type Ctx = IRetryBackoffContext<unknown>

/** Delays cockatiel's backoff computed, per execution (keyed by the execution's abort signal), not yet slept. */
const pendingWaits = new WeakMap<AbortSignal, number>()

class VirtualWait implements IBackoff<Ctx> {
  readonly duration = 0
  constructor(private readonly inner: IBackoffFactory<Ctx>, private readonly clock: ReplayClock) {}
  next(context: Ctx): IBackoff<Ctx> {
    const backoff = this.inner.next(context)
    pendingWaits.set(context.signal, backoff.duration)
    // cockatiel now waits on a real 0 ms timer before the next attempt: hold the clock
    this.clock.busy()
    return new VirtualWait(backoff, this.clock)
  }
}

export const RETRY = { maxAttempts: 3, initialDelay: 1_000, maxDelay: 30_000 } as const
export const BREAKER = { threshold: 0.3, duration: 60_000, minimumCalls: 5, halfOpenAfter: 300_000, maxHalfOpenAfter: 1_800_000 } as const

export const cockatielStrategy: Strategy = {
  id: "cockatiel",
  label: "5. cockatiel 4.0",
  description: "per model `retry` (3 retries, `ExponentialBackoff` full jitter 1 s ×2 ≤ 30 s) around `circuitBreaker` (`SamplingBreaker` " +
    "60 s, >= 5 calls, > 30 % − 1e-9; `halfOpenAfter` 300 s ×2 ≤ 30 min), a `fallback` policy to the next model; 120 s adapter time-out",
  make: (env) =>
    Effect.gen(function*() {
      const clock = env.clock
      // cockatiel's breaker reads Date.now(): the virtual clock's, for the life of this strategy
      yield* Effect.acquireRelease(
        Effect.sync(() => {
          const original = Date.now
          Date.now = () => clock.now
          return original
        }),
        (original) => Effect.sync(() => void (Date.now = original))
      )
      const byModel = yield* providers(env, Duration.seconds(120))
      const runtime = yield* Effect.runtime<never>()
      const run = Runtime.runPromiseExit(runtime)
      const rnd = prng("cockatiel-jitter", env.seed)
      const seededFullJitter: GeneratorFn<number> = (state, options) => {
        const [delay, next] = noJitterGenerator(state, options)
        return [Math.floor(rnd() * delay), next]
      }
      const breakerFailure = CircuitBreaker.defaults.isFailure
      const retryable = handleWhen((e) => isGenerationFailure(e) && isRetryable(e))
      const eligible = handleWhen((e) => e instanceof BrokenCircuitError || (isGenerationFailure(e) && isFallbackEligible(e)))

      const chain = env.trace.models.map(({ model }) => {
        const provider = byModel.get(model)!
        const retryPolicy = retry(retryable, {
          maxAttempts: RETRY.maxAttempts,
          backoff: new VirtualWait(
            new ExponentialBackoff({ initialDelay: RETRY.initialDelay, maxDelay: RETRY.maxDelay, exponent: 2, generator: seededFullJitter }),
            clock
          )
        })
        const breakerPolicy = circuitBreaker(handleWhen(breakerFailure), {
          halfOpenAfter: new ExponentialBackoff({
            initialDelay: BREAKER.halfOpenAfter,
            maxDelay: BREAKER.maxHalfOpenAfter,
            exponent: 2,
            generator: noJitterGenerator
          }),
          // cockatiel opens on failures > threshold·total; the other breakers open at >= 30 %
          breaker: new SamplingBreaker({
            threshold: BREAKER.threshold - 1e-9,
            duration: BREAKER.duration,
            minimumRps: BREAKER.minimumCalls / (BREAKER.duration / 1000)
          })
        })
        const call = async (prompt: string) => {
          const exit = await run(provider.generateImage(ImageRequest.make({ model, prompt })))
          if (Exit.isSuccess(exit)) return model
          throw Cause.squash(exit.cause)
        }
        // = wrap(retryPolicy, breakerPolicy), with the retry's wait slept on the virtual clock
        // between the two (where cockatiel's own timer sits)
        const attempt = (prompt: string, signal: AbortSignal) =>
          retryPolicy.execute(async (context) => {
            const wait = pendingWaits.get(context.signal)
            if (wait !== undefined) {
              pendingWaits.delete(context.signal)
              clock.idle()
              if (wait > 0) await run(Effect.sleep(Duration.millis(wait)))
            }
            return breakerPolicy.execute(() => call(prompt), context.signal)
          }, signal)
        return attempt
      })

      const along = (prompt: string, signal: AbortSignal, i: number): Promise<string> =>
        i === chain.length - 1
          ? chain[i]!(prompt, signal)
          : fallback(eligible, () => along(prompt, signal, i + 1)).execute(() => chain[i]!(prompt, signal))

      return (prompt: string) =>
        Effect.tryPromise({
          try: () => along(prompt, new AbortController().signal, 0),
          catch: reasonOf
        })
    })
}
