/**
 * The shared-call store behind `RequestCache`.
 *
 * - `inFlight`: one entry per request whose call is running. The first caller
 *   of a request starts the call in a fiber of its own (a daemon: no caller
 *   owns it); every caller of the request, the first included, waits for that
 *   fiber's exit. Only the shared fiber's exit takes the entry out, whatever
 *   happens to the callers in the meantime, so a caller who comes later joins
 *   the same call. If every caller stops waiting (all interrupted) nobody
 *   wants the result: the entry is dropped at once and the call interrupted.
 * - `fresh`: with a TTL, successful results by request, each fresh for the TTL
 *   after it arrived; oldest first, at most `capacity` of them.
 *
 * Requests are found by a cheap hash first (`hashOf`: no sorting, no JSON)
 * and confirmed by `equivalent`, which agrees with `keyOf`; string keys (from
 * `RequestCache.get`) are found by the string itself. So a request nobody else
 * is making costs one walk over it, and two that merely hash alike stay apart.
 *
 * Why the shared call needs a fiber of its own from the start, even when
 * nobody else comes: a later caller can only join a call that outlives its
 * first caller. Were the call run on the first caller's fiber, interrupting
 * that caller would either end the call the others wait for, or wait for the
 * call to finish before the interruption returns; and a running effect
 * cannot be moved to another fiber when a second caller arrives. So sharing
 * costs one fiber per call; a cache made with `shareInFlight: false` runs each
 * call on its caller's fiber (the TTL still applies) and forks nothing.
 *
 * The hot path (a call without contention) is one `async` step: the lookup,
 * the start of the shared fiber and the registration of the caller happen in
 * its register function, so no interruption can fall between them, and
 * interrupting a waiting caller runs its canceler. The fiber is started with
 * `Runtime.runFork` from the caller's context and fiber refs (what
 * `Effect.forkDaemon` would inherit), which measured about 3 times cheaper
 * than `forkDaemon` followed by `Fiber.join` or a `Deferred`.
 *
 * @internal
 */
import { Clock, Context, Effect, Exit, Fiber, Runtime, RuntimeFlags } from "effect"
import { equivalent, hashOf, snapshot } from "./key.js"

type Resume = (exit: Exit.Exit<unknown, unknown>) => void

/** What a call is for: a string key, or a chain and a request compared by `equivalent`. */
interface Identity {
  readonly hash: number
  /** The string key, or the request's chain. */
  readonly chain: string
  readonly request: unknown
  readonly byString: boolean
}

interface InFlight extends Identity {
  /** Callers waiting for the exit (an array: removal is rare, on interruption only). */
  readonly waiters: Array<Resume>
  fiber: Fiber.RuntimeFiber<unknown, unknown> | undefined
  done: boolean
}

interface Fresh extends Identity {
  readonly value: unknown
  readonly expiresAt: number
}

const matches = (entry: Identity, wanted: Identity): boolean =>
  entry.byString
    ? wanted.byString && entry.chain === wanted.chain
    : !wanted.byString && equivalent(entry.chain, entry.request, wanted.chain, wanted.request)

/**
 * Requests by hash; requests whose hashes collide share a bucket and are told
 * apart by `matches`. String keys are a map of their own (the engine hashes a
 * string faster than a walk over it could).
 */
class Table<E extends Identity> {
  private readonly buckets = new Map<number, E | Array<E>>()
  private readonly keys = new Map<string, E>()
  size = 0

  find(wanted: Identity): E | undefined {
    if (wanted.byString) return this.keys.get(wanted.chain)
    const bucket = this.buckets.get(wanted.hash)
    if (bucket === undefined) return undefined
    if (!Array.isArray(bucket)) return matches(bucket, wanted) ? bucket : undefined
    for (let i = 0; i < bucket.length; i++) if (matches(bucket[i]!, wanted)) return bucket[i]
    return undefined
  }

  add(entry: E): void {
    if (entry.byString) {
      this.keys.set(entry.chain, entry)
      this.size++
      return
    }
    const bucket = this.buckets.get(entry.hash)
    if (bucket === undefined) this.buckets.set(entry.hash, entry)
    else if (Array.isArray(bucket)) bucket.push(entry)
    else this.buckets.set(entry.hash, [bucket, entry])
    this.size++
  }

  delete(entry: E): void {
    if (entry.byString) {
      if (this.keys.get(entry.chain) === entry) {
        this.keys.delete(entry.chain)
        this.size--
      }
      return
    }
    const bucket = this.buckets.get(entry.hash)
    if (bucket === entry) {
      this.buckets.delete(entry.hash)
      this.size--
    } else if (Array.isArray(bucket)) {
      const at = bucket.indexOf(entry)
      if (at < 0) return
      bucket.splice(at, 1)
      if (bucket.length === 1) this.buckets.set(entry.hash, bucket[0]!)
      this.size--
    }
  }
}

/** @internal */
export class Store {
  private hits = 0
  private misses = 0
  private readonly inFlight = new Table<InFlight>()
  private readonly fresh = new Table<Fresh>()
  /** The fresh entries in order of arrival, so the oldest (and the expired) come first. */
  private readonly arrivals = new Set<Fresh>()

  constructor(
    private readonly ttlMs: number,
    private readonly capacity: number,
    private readonly shareInFlight: boolean = true,
    /** How requests are hashed (a test can make every request collide). */
    private readonly hash: (chain: string, request: unknown) => number = hashOf
  ) {}

  /** A call for a string key. */
  getByKey<A, E>(key: string, run: Effect.Effect<A, E>): Effect.Effect<A, E> {
    return this.shareInFlight || this.ttlMs > 0 ? this.get(key, undefined, true, run) : this.unkept(run)
  }

  /** A call for a request of a chain. */
  getFor<A, E>(chain: string, request: unknown, run: Effect.Effect<A, E>): Effect.Effect<A, E> {
    return this.shareInFlight || this.ttlMs > 0 ? this.get(chain, request, false, run) : this.unkept(run)
  }

  stats(now: number): { readonly hits: number; readonly misses: number; readonly size: number } {
    for (const kept of this.arrivals) {
      if (now < kept.expiresAt) break
      this.forget(kept)
    }
    return { hits: this.hits, misses: this.misses, size: this.inFlight.size + this.fresh.size }
  }

  /** Neither shared nor kept: the call itself, counted. No key is built and nothing is forked. */
  private unkept<A, E>(run: Effect.Effect<A, E>): Effect.Effect<A, E> {
    return Effect.suspend(() => {
      this.misses++
      return run
    })
  }

  private get<A, E>(chain: string, request: unknown, byString: boolean, run: Effect.Effect<A, E>): Effect.Effect<A, E> {
    return Effect.withFiberRuntime<A, E>((caller, status) => {
      const id: Identity = { hash: byString ? 0 : this.hash(chain, request), chain, request, byString }
      if (this.ttlMs > 0) {
        const kept = this.fresh.find(id)
        if (kept !== undefined) {
          if (Context.get(caller.currentDefaultServices, Clock.Clock).unsafeCurrentTimeMillis() < kept.expiresAt) {
            this.hits++
            // sound: a key names one request, so one result type
            return Effect.succeed(kept.value as A)
          }
          this.forget(kept)
        }
      }
      if (!this.shareInFlight) {
        // kept but not shared: the call runs on its caller's fiber, as its own
        this.misses++
        return Effect.tap(run, (value) => Effect.map(Clock.currentTimeMillis, (now) => this.keep(id, value, now + this.ttlMs)))
      }
      return Effect.async<A, E>((resume) => {
        const waiter = resume as Resume
        let entry = this.inFlight.find(id)
        if (entry === undefined) {
          this.misses++
          entry = { hash: id.hash, chain: id.chain, request: id.request, byString: id.byString, waiters: [waiter], fiber: undefined, done: false }
          this.inFlight.add(entry)
          // the waiter is in before the call starts: a call may end before `runFork` returns
          this.start(entry, run, caller, status.runtimeFlags)
        } else {
          this.hits++
          entry.waiters.push(waiter)
        }
        // a call that ended at once has resumed its waiter already: no canceler to install
        if (entry.done) return
        const joined = entry
        return Effect.suspend(() => this.leave(joined, waiter))
      })
    })
  }

  private start(
    entry: InFlight,
    run: Effect.Effect<unknown, unknown>,
    caller: Fiber.RuntimeFiber<unknown, unknown>,
    flags: RuntimeFlags.RuntimeFlags
  ): void {
    const runtime = Runtime.make({
      context: caller.currentContext,
      fiberRefs: caller.getFiberRefs(),
      // no caller owns the call: it is interruptible even if its first caller is not
      runtimeFlags: RuntimeFlags.enable(flags, RuntimeFlags.Interruption)
    })
    entry.fiber = Runtime.runFork(runtime)(Effect.onExit(run, (exit) => this.settle(entry, exit)))
  }

  /** In the shared fiber, once the call is over (also when it was interrupted). */
  private settle(entry: InFlight, exit: Exit.Exit<unknown, unknown>): Effect.Effect<void> {
    return this.ttlMs > 0 && Exit.isSuccess(exit)
      ? Effect.map(Clock.currentTimeMillis, (now) => {
        // fresh for the TTL from now, when it arrived
        this.keep(entry, exit.value, now + this.ttlMs)
        this.finish(entry, exit)
      })
      : Effect.sync(() => this.finish(entry, exit))
  }

  private finish(entry: InFlight, exit: Exit.Exit<unknown, unknown>): void {
    entry.done = true
    this.inFlight.delete(entry)
    const waiters = entry.waiters.splice(0)
    for (let i = 0; i < waiters.length; i++) waiters[i]!(exit)
  }

  /** A caller stopped waiting (it was interrupted). */
  private leave(entry: InFlight, waiter: Resume): Effect.Effect<void> {
    const at = entry.waiters.indexOf(waiter)
    if (at >= 0) entry.waiters.splice(at, 1)
    if (entry.done || entry.waiters.length > 0 || entry.fiber === undefined) return Effect.void
    // nobody wants the result: a newcomer starts afresh, and the call must not leak
    this.inFlight.delete(entry)
    return Effect.asVoid(Fiber.interrupt(entry.fiber))
  }

  private keep(id: Identity, value: unknown, expiresAt: number): void {
    const previous = this.fresh.find(id)
    if (previous !== undefined) this.forget(previous)
    // a copy: the caller may change its request object once the call is over
    const kept: Fresh = { hash: id.hash, chain: id.chain, request: id.byString ? undefined : snapshot(id.request), byString: id.byString, value, expiresAt }
    this.fresh.add(kept)
    this.arrivals.add(kept)
    if (this.arrivals.size > this.capacity) {
      const oldest = this.arrivals.values().next()
      if (oldest.done !== true) this.forget(oldest.value)
    }
  }

  private forget(kept: Fresh): void {
    this.fresh.delete(kept)
    this.arrivals.delete(kept)
  }
}
