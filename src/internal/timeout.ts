/**
 * `Effect.timeoutFail` for the attempt time-out, cheaper on the live clock.
 *
 * Effect's own `timeoutFail` races two forked fibers (the effect and a
 * sleep), which costs more than everything else on a fast success path. On
 * the live clock this one forks the effect only and waits for the first of
 * its exit and a timer — the same `setTimeout` the live clock's `sleep` uses —
 * so the semantics are Effect's: the effect is interrupted (and awaited) when
 * time runs out, interrupting the caller interrupts it, and the child's
 * fiber refs are inherited on completion. Under any other clock (`TestClock`,
 * a virtual clock) it is `Effect.timeoutFail` itself, so time stays a service.
 *
 * Time-outs nest: each one records when it ends (a fiber ref), and an inner
 * one that could only end later than an enclosing one costs nothing — no
 * fiber, no timer — since the enclosing one ends the call first (e.g. the
 * adapters' 180 s exchange time-out inside the fallback chain's 120 s
 * attempt time-out).
 *
 * @internal
 */
import { Duration, Effect, Exit, Fiber, FiberRef } from "effect"

/** When the innermost enclosing time-out ends (epoch ms on the fiber's clock); `Infinity` when none. @internal */
export const enclosingDeadline: FiberRef.FiberRef<number> = FiberRef.unsafeMake(Infinity)

// the default services' clock is one instance: `Effect.clock` outside any `withClock`
const liveClock = Effect.runSync(Effect.clock)

/** Node's timers cannot wait longer than this (2^31 − 1 ms); longer waits go through Effect. */
const MAX_TIMER_MS = 2_147_483_647

const TIMED_OUT: unique symbol = Symbol.for("effect-ai-resilience/timeout/timedOut") as never

/** @internal */
export const timeoutFail = <A, E, R, E1>(
  self: Effect.Effect<A, E, R>,
  duration: Duration.Duration,
  onTimeout: () => E1
): Effect.Effect<A, E | E1, R> =>
  Effect.clockWith((clock): Effect.Effect<A, E | E1, R> =>
    Effect.flatMap(FiberRef.get(enclosingDeadline), (outer): Effect.Effect<A, E | E1, R> => {
      const ms = Duration.toMillis(duration)
      const deadline = clock.unsafeCurrentTimeMillis() + ms
      // an enclosing time-out ends no later: it is the one that will end the call
      if (outer <= deadline) return self
      const bounded = Effect.locally(self, enclosingDeadline, deadline)
      if (clock !== liveClock || !Number.isFinite(ms) || ms > MAX_TIMER_MS) {
        return Effect.timeoutFail(bounded, { duration, onTimeout })
      }
      return live(bounded, ms, onTimeout)
    }))

const live = <A, E, R, E1>(self: Effect.Effect<A, E, R>, ms: number, onTimeout: () => E1): Effect.Effect<A, E | E1, R> =>
  Effect.uninterruptibleMask((restore) =>
    Effect.flatMap(Effect.fork(restore(self)), (child) =>
      restore(Effect.async<Exit.Exit<A, E> | typeof TIMED_OUT>((resume) => {
        let settled = false
        const timer = setTimeout(() => {
          if (settled) return
          settled = true
          child.removeObserver(observer)
          resume(Effect.succeed(TIMED_OUT))
        }, Math.max(0, ms))
        const observer = (exit: Exit.Exit<A, E>) => {
          if (settled) return
          settled = true
          clearTimeout(timer)
          resume(Effect.succeed(exit))
        }
        child.addObserver(observer)
        return Effect.sync(() => {
          settled = true
          clearTimeout(timer)
          child.removeObserver(observer)
        })
      })).pipe(
        // the caller was interrupted while waiting: so is the call
        Effect.onInterrupt(() => Fiber.interrupt(child)),
        Effect.flatMap((outcome): Effect.Effect<A, E | E1> =>
          outcome === TIMED_OUT
            ? Effect.zipRight(Fiber.interrupt(child), Effect.failSync(onTimeout))
            : Effect.zipRight(Fiber.inheritAll(child), outcome)
        )
      )
    )
  )
