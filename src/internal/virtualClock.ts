/**
 * Virtual time for drills over real I/O: a `Clock` whose time stands still
 * while anything is running and jumps to the next scheduled wake-up when the
 * program is idle (every fiber is waiting on a sleep). Real I/O (loopback
 * HTTP) gets real event-loop turns between jumps, so a simulated 30-second
 * image call costs a few microseconds of real time and its latency is measured
 * exactly.
 *
 * Provide it with `Effect.withClock(clock)` and run the program with
 * {@link VirtualClock.run}, which drives the clock until the program ends.
 *
 * @internal
 */
import { Clock, Duration, Effect, Fiber, Option } from "effect"

interface Wakeup {
  readonly at: number
  readonly seq: number
  readonly wake: () => void
}

/** One macrotask turn: lets pending I/O callbacks run. */
const ioTurn = Effect.async<void>((resume) => {
  const handle = setImmediate(() => resume(Effect.void))
  return Effect.sync(() => clearImmediate(handle))
})

/** @internal */
export class VirtualClock implements Clock.Clock {
  readonly [Clock.ClockTypeId]: Clock.ClockTypeId = Clock.ClockTypeId
  private now: number
  private seq = 0
  /** Pending wake-ups, sorted by (at, seq). */
  private readonly pending: Array<Wakeup> = []
  /** How many jumps the clock made (for reports). */
  jumps = 0

  constructor(startAtMs: number = Date.now()) {
    this.now = startAtMs
  }

  unsafeCurrentTimeMillis(): number {
    return this.now
  }

  unsafeCurrentTimeNanos(): bigint {
    return BigInt(Math.floor(this.now)) * 1_000_000n
  }

  readonly currentTimeMillis: Effect.Effect<number> = Effect.sync(() => this.now)
  readonly currentTimeNanos: Effect.Effect<bigint> = Effect.sync(() => this.unsafeCurrentTimeNanos())

  sleep(duration: Duration.Duration): Effect.Effect<void> {
    if (!Duration.isFinite(duration)) return Effect.never
    return Effect.async<void>((resume) => {
      const entry: Wakeup = { at: this.now + Math.max(0, Duration.toMillis(duration)), seq: this.seq++, wake: () => resume(Effect.void) }
      this.insert(entry)
      return Effect.sync(() => this.remove(entry))
    })
  }

  private insert(entry: Wakeup): void {
    // binary search for the first entry after (at, seq); seq only grows, so ties go last
    let lo = 0
    let hi = this.pending.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (this.pending[mid]!.at <= entry.at) lo = mid + 1
      else hi = mid
    }
    this.pending.splice(lo, 0, entry)
  }

  private remove(entry: Wakeup): void {
    const i = this.pending.indexOf(entry)
    if (i >= 0) this.pending.splice(i, 1)
  }

  /**
   * Run `effect` to its end, driving the clock: after `turns` event-loop turns
   * in which nothing was woken, move time to the earliest pending wake-up and
   * wake every sleeper due then.
   */
  run<A, E, R>(effect: Effect.Effect<A, E, R>, turns = 4): Effect.Effect<A, E, R> {
    return Effect.gen(this, function*() {
      const fiber = yield* Effect.fork(effect)
      while (Option.isNone(yield* Fiber.poll(fiber))) {
        for (let t = 0; t < turns; t++) yield* ioTurn
        const first = this.pending[0]
        if (first === undefined) continue
        this.now = Math.max(this.now, first.at)
        this.jumps++
        while (this.pending.length > 0 && this.pending[0]!.at <= this.now) this.pending.shift()!.wake()
      }
      return yield* Fiber.join(fiber)
    })
  }
}
