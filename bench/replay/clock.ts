/**
 * Virtual time for the outage replay, over real loopback HTTP.
 *
 * Same idea as `src/internal/virtualClock.ts` (the demo's clock): time stands
 * still while anything runs and jumps to the next scheduled wake-up when the
 * program is idle. The demo's clock decides "idle" after a fixed 4 event-loop
 * turns; at 100 k requests with dozens in flight that is not enough (a
 * loopback exchange or an Effect scheduler batch deferred to a timer can take
 * longer, and a jump then lands in the middle of it: latencies grow and the
 * order in which the simulator sees requests — hence its draws — changes).
 * This clock instead jumps only when it can prove the program is idle:
 *
 * - no Effect task is queued: every fiber runs on {@link ReplayClock.scheduler},
 *   which counts the tasks it has been given and not yet run;
 * - no HTTP exchange is under way: every client request carries an
 *   `x-replay-exchange` id (see {@link trackedClient}); an exchange counts as
 *   idle only while the simulator's handler for it is asleep on this clock
 *   (a simulated latency — the sleep sees the server request in its fiber's
 *   context), and it ends once the client has read the whole body;
 * - nothing else registered as busy ({@link ReplayClock.busy}, used by the
 *   cockatiel strategy while cockatiel waits on a real 0 ms timer).
 *
 * A watchdog forces a jump if the program looks busy but makes no progress
 * (no task run, no exchange event) for `watchdogMs` of real time (a request
 * that hangs at the server without a sleep would otherwise stall the replay);
 * forced jumps are counted and reported — in a sound run there are none.
 */
import { HttpClient, HttpClientRequest, type HttpClientResponse } from "@effect/platform"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import { Clock, Context, Duration, Effect, Fiber, Option, type Scheduler, Stream } from "effect"
import { MixedScheduler } from "effect/Scheduler"

/** Header that ties a server-side sleep to the client exchange it answers. */
export const EXCHANGE_HEADER = "x-replay-exchange"

interface Wakeup {
  readonly at: number
  readonly seq: number
  readonly wake: () => void
  done: boolean
}

interface Exchange {
  inflight: boolean
  parked: boolean
}

const before = (a: Wakeup, b: Wakeup) => a.at < b.at || (a.at === b.at && a.seq < b.seq)

/** One macrotask turn: lets pending I/O callbacks run. */
const ioTurn = Effect.async<void>((resume) => {
  const handle = setImmediate(() => resume(Effect.void))
  return Effect.sync(() => clearImmediate(handle))
})

export interface ClockStats {
  readonly jumps: number
  readonly forcedJumps: number
  readonly turns: number
  readonly exchanges: number
}

export class ReplayClock implements Clock.Clock {
  readonly [Clock.ClockTypeId]: Clock.ClockTypeId = Clock.ClockTypeId
  now: number
  private seq = 0
  /** Binary min-heap of wake-ups by (at, seq); cancelled entries are dropped lazily. */
  private readonly heap: Array<Wakeup> = []
  /** Effect tasks handed to the scheduler and not yet run. */
  private queuedTasks = 0
  /** Other real work in progress (e.g. a cockatiel timer). */
  private external = 0
  private readonly exchanges = new Map<string, Exchange>()
  /** Exchanges in flight whose server handler is not asleep on this clock. */
  private unparked = 0
  private exchangeCounter = 0
  /** Bumped by every task run and exchange event: the watchdog only fires when it stands still. */
  private progress = 0
  jumps = 0
  forcedJumps = 0
  turns = 0

  /** The scheduler every fiber of the replay must run on (see `Effect.withScheduler`). */
  readonly scheduler: Scheduler.Scheduler

  constructor(startAtMs: number, readonly watchdogMs = 2_000) {
    this.now = startAtMs
    const base = new MixedScheduler(2048)
    this.scheduler = {
      shouldYield: (fiber) => base.shouldYield(fiber),
      scheduleTask: (task, priority, fiber) => {
        this.queuedTasks++
        base.scheduleTask(() => {
          this.queuedTasks--
          this.progress++
          task()
        }, priority, fiber)
      }
    }
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
    const ms = Math.max(0, Duration.toMillis(duration))
    return Effect.contextWithEffect((context: Context.Context<never>) => {
      const request = Context.getOption(context as Context.Context<HttpServerRequest.HttpServerRequest>, HttpServerRequest.HttpServerRequest)
      const id = Option.isSome(request) ? request.value.headers[EXCHANGE_HEADER] : undefined
      return Effect.async<void>((resume) => {
        const entry: Wakeup = {
          at: this.now + ms,
          seq: this.seq++,
          done: false,
          wake: () => {
            if (id !== undefined) this.unpark(id)
            resume(Effect.void)
          }
        }
        this.push(entry)
        if (id !== undefined) this.park(id)
        return Effect.sync(() => {
          if (entry.done) return
          entry.done = true
          if (id !== undefined) this.unpark(id)
        })
      })
    })
  }

  // --- busy accounting ------------------------------------------------------

  /** Mark real work in progress (the clock will not jump until {@link idle}). */
  busy(): void {
    this.external++
  }

  idle(): void {
    this.external--
  }

  /** A new exchange id (sent as {@link EXCHANGE_HEADER}). */
  nextExchangeId(): string {
    return String(++this.exchangeCounter)
  }

  exchangeStart(id: string): void {
    this.progress++
    this.exchanges.set(id, { inflight: true, parked: false })
    this.unparked++
  }

  exchangeEnd(id: string): void {
    this.progress++
    const e = this.exchanges.get(id)
    if (e === undefined) return
    if (e.inflight && !e.parked) this.unparked--
    e.inflight = false
    this.exchanges.delete(id)
  }

  private park(id: string): void {
    this.progress++
    const e = this.exchanges.get(id)
    if (e === undefined || e.parked) return
    e.parked = true
    if (e.inflight) this.unparked--
  }

  private unpark(id: string): void {
    this.progress++
    const e = this.exchanges.get(id)
    if (e === undefined || !e.parked) return
    e.parked = false
    if (e.inflight) this.unparked++
  }

  isBusy(): boolean {
    return this.queuedTasks > 0 || this.unparked > 0 || this.external > 0
  }

  stats(): ClockStats {
    return { jumps: this.jumps, forcedJumps: this.forcedJumps, turns: this.turns, exchanges: this.exchangeCounter }
  }

  // --- the heap ---------------------------------------------------------------

  private push(entry: Wakeup): void {
    const h = this.heap
    h.push(entry)
    let i = h.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!before(h[i]!, h[parent]!)) break
      ;[h[i], h[parent]] = [h[parent]!, h[i]!]
      i = parent
    }
  }

  private pop(): Wakeup | undefined {
    const h = this.heap
    const top = h[0]
    if (top === undefined) return undefined
    const last = h.pop()!
    if (h.length > 0) {
      h[0] = last
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        const r = l + 1
        let m = i
        if (l < h.length && before(h[l]!, h[m]!)) m = l
        if (r < h.length && before(h[r]!, h[m]!)) m = r
        if (m === i) break
        ;[h[i], h[m]] = [h[m]!, h[i]!]
        i = m
      }
    }
    return top
  }

  /** The earliest live wake-up (drops cancelled ones from the top). */
  private peek(): Wakeup | undefined {
    while (this.heap.length > 0 && this.heap[0]!.done) this.pop()
    return this.heap[0]
  }

  private jump(): boolean {
    const first = this.peek()
    if (first === undefined) return false
    this.now = Math.max(this.now, first.at)
    this.jumps++
    for (let next = this.peek(); next !== undefined && next.at <= this.now; next = this.peek()) {
      this.pop()
      next.done = true
      next.wake()
    }
    return true
  }

  /**
   * Run `effect` (which must run with this clock and {@link scheduler}) to its
   * end, moving time whenever the program is idle.
   */
  run<A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> {
    return Effect.gen(this, function*() {
      const fiber = yield* Effect.fork(effect)
      // real time since the program last made progress while looking busy
      let stalledSince: number | undefined
      let lastProgress = -1
      while (Option.isNone(yield* Fiber.poll(fiber))) {
        yield* ioTurn
        this.turns++
        if (this.isBusy()) {
          // (the driver's own wake-up after each turn is one task: more than that is progress)
          if (this.progress - lastProgress > 1) {
            lastProgress = this.progress
            stalledSince = undefined
            continue
          }
          const t = performance.now()
          lastProgress = this.progress
          if (stalledSince === undefined) stalledSince = t
          else if (t - stalledSince > this.watchdogMs) {
            this.forcedJumps++
            stalledSince = undefined
            lastProgress = this.progress
            this.jump()
          }
          continue
        }
        stalledSince = undefined
        lastProgress = this.progress
        this.jump()
      }
      return yield* Fiber.join(fiber)
    })
  }
}

/**
 * The HTTP client every strategy uses: each request gets an exchange id the
 * clock tracks until the whole body has been read (the body is buffered here,
 * so the adapters read it from memory).
 */
export const trackedClient = (client: HttpClient.HttpClient, clock: ReplayClock): HttpClient.HttpClient =>
  client.pipe(
    HttpClient.mapRequest((request) => HttpClientRequest.setHeader(request, EXCHANGE_HEADER, clock.nextExchangeId())),
    HttpClient.transform((effect, request) => {
      const id = request.headers[EXCHANGE_HEADER]
      if (id === undefined) return effect
      return Effect.acquireUseRelease(
        Effect.sync(() => clock.exchangeStart(id)),
        () => Effect.flatMap(effect, (response) => Effect.map(response.arrayBuffer, (body) => buffered(response, body))),
        () => Effect.sync(() => clock.exchangeEnd(id))
      )
    })
  )

/** The response with its body already in memory (status, headers and the rest from the original). */
const buffered = (response: HttpClientResponse.HttpClientResponse, body: ArrayBuffer): HttpClientResponse.HttpClientResponse => {
  const bytes = new Uint8Array(body)
  const text = Effect.sync(() => new TextDecoder().decode(bytes))
  return Object.create(response, {
    stream: { get: () => Stream.succeed(bytes) },
    arrayBuffer: { get: () => Effect.succeed(body) },
    text: { get: () => text },
    json: { get: () => Effect.map(text, (t) => (t === "" ? null : JSON.parse(t) as unknown)) }
  }) as HttpClientResponse.HttpClientResponse
}
