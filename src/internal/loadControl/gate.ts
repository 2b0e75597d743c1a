/**
 * The state behind `LoadControl`: a bulkhead (slots), a token bucket and the
 * counters of the observable queue, all plain fields mutated by the fibers
 * that pass through (no fiber switch can fall inside a synchronous update).
 *
 * Why not Effect's `Semaphore` and token-bucket `RateLimiter` (which this
 * replaced): in Effect 3.22 a semaphore's release wakes every waiting fiber,
 * and all but one go back to waiting, so a queue of N callers costs O(N²)
 * wake-ups — 300 callers behind one slot made 45 754 of them
 * (test/Concurrency.test.ts), and a queue of a few thousand took seconds of
 * CPU doing nothing. A queue of waiting callers is this module's whole
 * purpose, so it keeps one: a freed slot or token goes to the next caller in
 * line, and only that one is woken. A caller who finds a free slot and a
 * token takes both without suspending.
 *
 * - Slots: `free` of them; callers who find none wait first-come first-served
 *   and a freed slot is handed to the first of them directly (it never goes
 *   back to `free` while someone waits), so nobody overtakes a waiting caller.
 * - Tokens: a bucket of `requestsPerMinute` tokens refilled continuously, one every
 *   `60 s / requestsPerMinute` (the shape of Effect's token-bucket
 *   `RateLimiter`, and of the providers' own per-minute limits). A caller takes
 *   a token when it has a slot; when the bucket is empty it takes one on
 *   credit (the count goes negative) and sleeps on the `Clock` until the
 *   refill has covered it, so callers get tokens in the order they asked.
 *   A caller interrupted while sleeping gives its token back.
 * - Counters: `waiting` (for a slot or a token) and `running`, and the mean
 *   time from start to end of the calls that ran. A call is running, and
 *   timed, only from when it has a slot and a token.
 * - Publishing: `status` reads the counters. `changes` (a `SubscriptionRef`)
 *   is set by a background fiber, so a caller never pays for it: a change
 *   schedules one check at the end of the current scheduler tick, and only if
 *   the status then differs from the one last published is the publisher
 *   woken. Changes within a tick thus arrive as one, their end state (a call
 *   that starts and ends in one tick publishes nothing).
 *
 * @internal
 */
import { Duration, Effect, type Scheduler, type Scope, SubscriptionRef } from "effect"

/** One execution of `run`: what it holds, for the finalizer to give back. */
export interface Ticket {
  /** Holds a slot. */
  slot: boolean
  /** Took a token on credit and has not started yet. */
  owesToken: boolean
  /** Started (counted as running) at `startedAt`. */
  started: boolean
  startedAt: number
  /** Set while waiting for a slot: called when a slot is handed over. */
  wake: (() => void) | undefined
}

/** @internal */
export const newTicket = (): Ticket => ({ slot: false, owesToken: false, started: false, startedAt: 0, wake: undefined })

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
  private free: number
  private readonly slotQueue = new Set<Ticket>()
  private tokens: number
  private refilledAt = Number.NaN
  private readonly msPerToken: number

  constructor(
    readonly concurrency: number,
    readonly requestsPerMinute: number,
    private readonly assumedServiceTimeMs: number,
    /** Called after every change of the counters. */
    private readonly changed: () => void
  ) {
    this.free = concurrency
    this.tokens = requestsPerMinute
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

  /** Take a free slot. (There is none while anybody waits: freed slots are handed over.) */
  tryTakeSlot(ticket: Ticket): boolean {
    if (this.free === 0) return false
    this.free--
    ticket.slot = true
    return true
  }

  /** Wait for a slot (after `tryTakeSlot` failed): `wake` is called when one is handed over. */
  waitForSlot(ticket: Ticket, wake: () => void): void {
    ticket.wake = wake
    this.slotQueue.add(ticket)
  }

  /** Stop waiting for a slot (interrupted). */
  cancelSlotWait(ticket: Ticket): void {
    this.slotQueue.delete(ticket)
    ticket.wake = undefined
  }

  private releaseSlot(): void {
    for (const next of this.slotQueue) {
      this.slotQueue.delete(next)
      next.slot = true
      const wake = next.wake!
      next.wake = undefined
      wake()
      return
    }
    this.free++
  }

  /** Take a token; how long (whole ms) to wait before it is covered (0 = now). */
  takeToken(ticket: Ticket, now: number): number {
    if (now > this.refilledAt) {
      this.tokens = Math.min(this.requestsPerMinute, this.tokens + (now - this.refilledAt) / this.msPerToken)
      this.refilledAt = now
    } else if (Number.isNaN(this.refilledAt)) {
      this.refilledAt = now
    }
    this.tokens -= 1
    if (this.tokens >= 0) return 0
    ticket.owesToken = true
    return Math.ceil(-this.tokens * this.msPerToken)
  }

  /** The caller has its slot and token: it is running from `now`. */
  start(ticket: Ticket, now: number): void {
    ticket.owesToken = false
    ticket.started = true
    ticket.startedAt = now
    this.waiting--
    this.running++
    this.changed()
  }

  /** Whatever the exit: give back what the ticket holds and count the call. */
  end(ticket: Ticket, now: number): void {
    if (ticket.wake !== undefined) this.cancelSlotWait(ticket)
    if (ticket.started) {
      this.running--
      this.completed++
      this.totalMs += now - ticket.startedAt
    } else {
      this.waiting--
      // a token taken on credit and never used goes back
      if (ticket.owesToken) this.tokens += 1
    }
    if (ticket.slot) this.releaseSlot()
    ticket.slot = false
    ticket.started = false
    ticket.owesToken = false
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
 * Run `effect` through the gate. All state is per execution (a retried
 * effect queues afresh). Outside the `restore`d waits and `effect` it runs
 * uninterruptibly, so the exit handler always knows what the ticket holds.
 *
 * @internal
 */
export const run = <A, E, R>(
  gate: Gate,
  effect: Effect.Effect<A, E, R>,
  onQueued: ((position: number, estimatedWaitMs: number) => Effect.Effect<void>) | undefined
): Effect.Effect<A, E, R> =>
  Effect.clockWith((clock) =>
    Effect.uninterruptibleMask((restore) => {
      const ticket = newTicket()
      const position = gate.enqueue()

      const start = (): Effect.Effect<A, E, R> => {
        gate.start(ticket, clock.unsafeCurrentTimeMillis())
        return restore(effect)
      }
      /** Has a slot: take a token (sleeping for it if need be), then start. */
      const withSlot = (): Effect.Effect<A, E, R> => {
        const now = clock.unsafeCurrentTimeMillis()
        const wait = gate.takeToken(ticket, now)
        if (wait === 0) {
          gate.start(ticket, now)
          return restore(effect)
        }
        return Effect.zipRight(restore(clock.sleep(Duration.millis(wait))), Effect.suspend(start))
      }
      const admit = (): Effect.Effect<A, E, R> =>
        gate.tryTakeSlot(ticket)
          ? withSlot()
          : Effect.zipRight(restore(waitForSlot(gate, ticket)), Effect.suspend(withSlot))

      const body = onQueued === undefined
        ? admit()
        : Effect.zipRight(restore(Effect.suspend(() => onQueued(position, gate.estimate(position)))), Effect.suspend(admit))
      return Effect.onExit(body, () => Effect.sync(() => gate.end(ticket, clock.unsafeCurrentTimeMillis())))
    })
  )

const waitForSlot = (gate: Gate, ticket: Ticket): Effect.Effect<void> =>
  Effect.async<void>((resume) => {
    // a slot may have been freed since the caller last looked
    if (gate.tryTakeSlot(ticket)) return resume(Effect.void)
    gate.waitForSlot(ticket, () => resume(Effect.void))
    return Effect.sync(() => gate.cancelSlotWait(ticket))
  })
