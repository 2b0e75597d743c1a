import { type Duration, Effect, Exit, Fiber, Option, Stream, TestClock } from "effect"

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
 * The first element `stream` has for a reader started now, without the clock
 * moving: none when it has nothing (rather than waiting for ever).
 */
export const headNow = <A>(stream: Stream.Stream<A>) =>
  Effect.gen(function*() {
    const reader = yield* Effect.fork(Stream.runHead(stream))
    yield* TestClock.adjust(0) // the reader runs until it has an element or waits for one
    const polled = yield* Fiber.poll(reader)
    yield* Fiber.interrupt(reader)
    return Option.isSome(polled) && Exit.isSuccess(polled.value) ? polled.value.value : Option.none()
  })
