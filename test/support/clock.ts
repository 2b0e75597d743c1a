import { Chunk, Duration, Effect, Fiber, Option, Order, TestClock } from "effect"

/** Let real I/O (loopback HTTP) make progress without sleeping: one macrotask turn. */
export const ioTurn = Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))

/** Run an effect to completion while moving the TestClock forward in steps (and letting I/O run). */
export const settle = <A, E, R>(effect: Effect.Effect<A, E, R>, step: Duration.DurationInput = "1 second", max = 2000) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(effect)
    for (let i = 0; i < max; i++) {
      if (Option.isSome(yield* Fiber.poll(fiber))) break
      yield* ioTurn
      yield* TestClock.adjust(step)
    }
    return yield* Fiber.join(fiber)
  })

/**
 * Like {@link settle}, but for long simulated spans: after letting I/O run for
 * `turns` macrotask turns, move the TestClock straight to the next scheduled
 * wake-up (at most `maxStep` ahead) instead of in fixed steps.
 */
export const settleByWakeups = <A, E, R>(
  effect: Effect.Effect<A, E, R>,
  options: { readonly turns?: number; readonly maxStep?: Duration.DurationInput; readonly max?: number } = {}
) =>
  Effect.gen(function*() {
    const turns = options.turns ?? 8
    const maxStepMs = Duration.toMillis(options.maxStep ?? "1 minute")
    const fiber = yield* Effect.fork(effect)
    for (let i = 0; i < (options.max ?? 100_000); i++) {
      if (Option.isSome(yield* Fiber.poll(fiber))) break
      for (let t = 0; t < turns; t++) yield* ioTurn
      const now = yield* TestClock.currentTimeMillis
      const next = Chunk.head(Chunk.sort(yield* TestClock.sleeps(), Order.number))
      const step = Option.match(next, { onNone: () => 1, onSome: (at) => Math.min(Math.max(1, at - now), maxStepMs) })
      yield* TestClock.adjust(Duration.millis(step))
    }
    return yield* Fiber.join(fiber)
  })
