/**
 * The state behind `LoadControl`: Effect's `Semaphore` (the bulkhead) and
 * token-bucket `RateLimiter` do the admitting; this module keeps the counters
 * of the observable queue as plain fields mutated by the fibers that pass
 * through (no fiber switch can fall inside a synchronous update), and
 * publishes them off the callers' path.
 *
 * - Order: a caller waits for a slot, then for a token, then starts. It is
 *   `waiting` until it starts, and `running` — and timed, for the mean
 *   service time — only from then (a wait for a token is not service time).
 * - Publishing: `status` reads the counters. `changes` (a `SubscriptionRef`)
 *   is set by a background fiber, so a caller never pays for it: a change
 *   schedules one check at the end of the current scheduler tick, and only if
 *   the status then differs from the one last published is the publisher
 *   woken. Changes within a tick thus arrive as one, their end state (a call
 *   that starts and ends in one tick publishes nothing).
 *
 * @internal
 */
import { Effect, type RateLimiter, type Scheduler, type Scope, SubscriptionRef } from "effect"

/** One execution of `run`. */
export interface Ticket {
  /** Started (counted as running) at `startedAt`. */
  started: boolean
  startedAt: number
}

/** @internal */
export const newTicket = (): Ticket => ({ started: false, startedAt: 0 })

/** @internal */
export interface Status {
  readonly waiting: number
  readonly running: number
  readonly serviceTimeMs: number
}

const sameStatus = (a: Status, b: Status): boolean =>
  a.waiting === b.waiting && a.running === b.running && a.serviceTimeMs === b.serviceTimeMs

/** @internal */
export class Gate {
  waiting = 0
  running = 0
  private completed = 0
  private totalMs = 0
  private readonly msPerToken: number

  constructor(
    readonly concurrency: number,
    readonly requestsPerMinute: number,
    private readonly assumedServiceTimeMs: number,
    /** Called after every change of the counters. */
    private readonly changed: () => void
  ) {
    this.msPerToken = 60_000 / requestsPerMinute
  }

  get serviceTimeMs(): number {
    return this.completed === 0 ? this.assumedServiceTimeMs : this.totalMs / this.completed
  }

  status(): Status {
    return { waiting: this.waiting, running: this.running, serviceTimeMs: this.serviceTimeMs }
  }

  /** Join the queue; the caller's position (1 = next). */
  enqueue(): number {
    this.waiting++
    this.changed()
    return this.waiting
  }

  /** The caller has its slot and token: it is running from `now`. */
  start(ticket: Ticket, now: number): void {
    ticket.started = true
    ticket.startedAt = now
    this.waiting--
    this.running++
    this.changed()
  }

  /** Whatever the exit: count the call (or the wait given up). */
  end(ticket: Ticket, now: number): void {
    if (ticket.started) {
      this.running--
      this.completed++
      this.totalMs += now - ticket.startedAt
    } else {
      this.waiting--
    }
    ticket.started = false
    this.changed()
  }

  /** Estimated wait for a caller at `position`. */
  estimate(position: number): number {
    // Callers ahead take the free slots first, then drain `concurrency` at a
    // time; and none start faster than the rate limit lets them.
    const free = Math.max(0, this.concurrency - this.running)
    const bySlots = position <= free ? 0 : Math.ceil((position - free) / this.concurrency) * this.serviceTimeMs
    const byRate = Math.max(0, position - 1) * this.msPerToken
    return Math.round(Math.max(bySlots, byRate))
  }
}

/**
 * A gate and the `SubscriptionRef` its status is published to, for as long as
 * the scope lives.
 *
 * @internal
 */
export const make = (
  concurrency: number,
  requestsPerMinute: number,
  assumedServiceTimeMs: number
): Effect.Effect<{ readonly gate: Gate; readonly changes: SubscriptionRef.SubscriptionRef<Status> }, never, Scope.Scope> =>
  Effect.gen(function*() {
    const scheduler = yield* Effect.withFiberRuntime<Scheduler.Scheduler>((fiber) => Effect.succeed(fiber.currentScheduler))
    const dirty = yield* Effect.makeLatch(false)
    let checkScheduled = false
    const check = () => {
      checkScheduled = false
      if (!sameStatus(gate.status(), published)) dirty.unsafeOpen()
    }
    const gate: Gate = new Gate(concurrency, requestsPerMinute, assumedServiceTimeMs, () => {
      if (checkScheduled) return
      checkScheduled = true
      scheduler.scheduleTask(check, 0)
    })
    let published = gate.status()
    const changes = yield* SubscriptionRef.make(published)
    const publish = Effect.suspend(() => {
      dirty.unsafeClose()
      const now = gate.status()
      if (sameStatus(now, published)) return Effect.void
      published = now
      return SubscriptionRef.set(changes, now)
    })
    yield* dirty.await.pipe(Effect.zipRight(publish), Effect.forever, Effect.interruptible, Effect.forkScoped)
    return { gate, changes }
  })

/**
 * Run `effect` through the gate: a slot (`slots`), then a token (`limiter`),
 * then start. All state is per execution (a retried effect queues afresh);
 * the counters are settled however it ends.
 *
 * @internal
 */
export const run = <A, E, R>(
  gate: Gate,
  slots: Effect.Semaphore,
  limiter: RateLimiter.RateLimiter,
  effect: Effect.Effect<A, E, R>,
  onQueued: ((position: number, estimatedWaitMs: number) => Effect.Effect<void>) | undefined
): Effect.Effect<A, E, R> =>
  Effect.clockWith((clock) =>
    Effect.uninterruptibleMask((restore) => {
      const ticket = newTicket()
      const position = gate.enqueue()
      const started = Effect.suspend(() => {
        gate.start(ticket, clock.unsafeCurrentTimeMillis())
        return effect
      })
      const admitted = slots.withPermits(1)(limiter(started))
      const body = onQueued === undefined
        ? admitted
        : Effect.zipRight(Effect.suspend(() => onQueued(position, gate.estimate(position))), admitted)
      return Effect.onExit(restore(body), () => Effect.sync(() => gate.end(ticket, clock.unsafeCurrentTimeMillis())))
    })
  )
