/**
 * The shared-call store behind `RequestCache`.
 *
 * - `inFlight`: one entry per key whose call is running. The first caller of
 *   a key starts the call in a fiber of its own (a daemon: no caller owns it);
 *   every caller of the key, the first included, waits for that fiber's exit.
 *   Only the shared fiber's exit takes the entry out, whatever happens to the
 *   callers in the meantime, so a caller who comes later joins the same call.
 *   If every caller stops waiting (all interrupted) nobody wants the result:
 *   the entry is dropped at once and the call interrupted.
 * - `fresh`: with a TTL, successful results by key, each fresh for the TTL
 *   after it arrived; oldest first, at most `capacity` of them.
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

type Resume = (exit: Exit.Exit<unknown, unknown>) => void

interface InFlight {
  readonly key: string
  /** Callers waiting for the exit (an array: removal is rare, on interruption only). */
  readonly waiters: Array<Resume>
  fiber: Fiber.RuntimeFiber<unknown, unknown> | undefined
  done: boolean
}

interface Fresh {
  readonly value: unknown
  readonly expiresAt: number
}

/** @internal */
export class Store {
  private hits = 0
  private misses = 0
  private readonly inFlight = new Map<string, InFlight>()
  private readonly fresh = new Map<string, Fresh>()

  constructor(private readonly ttlMs: number, private readonly capacity: number) {}

  get<A, E>(key: string, run: Effect.Effect<A, E>): Effect.Effect<A, E> {
    return Effect.withFiberRuntime<A, E>((caller, status) =>
      Effect.async<A, E>((resume) => {
        if (this.ttlMs > 0) {
          const kept = this.fresh.get(key)
          if (kept !== undefined) {
            if (Context.get(caller.currentDefaultServices, Clock.Clock).unsafeCurrentTimeMillis() < kept.expiresAt) {
              this.hits++
              // sound: a key names one request, so one result type
              resume(Exit.succeed(kept.value as A))
              return
            }
            this.fresh.delete(key)
          }
        }
        const waiter = resume as Resume
        let entry = this.inFlight.get(key)
        if (entry === undefined) {
          this.misses++
          entry = { key, waiters: [waiter], fiber: undefined, done: false }
          this.inFlight.set(key, entry)
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
    )
  }

  stats(now: number): { readonly hits: number; readonly misses: number; readonly size: number } {
    // fresh results are kept in order of arrival, so the expired ones come first
    for (const [key, kept] of this.fresh) {
      if (now < kept.expiresAt) break
      this.fresh.delete(key)
    }
    return { hits: this.hits, misses: this.misses, size: this.inFlight.size + this.fresh.size }
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
        this.keep(entry.key, exit.value, now + this.ttlMs)
        this.finish(entry, exit)
      })
      : Effect.sync(() => this.finish(entry, exit))
  }

  private finish(entry: InFlight, exit: Exit.Exit<unknown, unknown>): void {
    entry.done = true
    if (this.inFlight.get(entry.key) === entry) this.inFlight.delete(entry.key)
    const waiters = entry.waiters.splice(0)
    for (let i = 0; i < waiters.length; i++) waiters[i]!(exit)
  }

  /** A caller stopped waiting (it was interrupted). */
  private leave(entry: InFlight, waiter: Resume): Effect.Effect<void> {
    const at = entry.waiters.indexOf(waiter)
    if (at >= 0) entry.waiters.splice(at, 1)
    if (entry.done || entry.waiters.length > 0 || entry.fiber === undefined) return Effect.void
    // nobody wants the result: a newcomer starts afresh, and the call must not leak
    if (this.inFlight.get(entry.key) === entry) this.inFlight.delete(entry.key)
    return Effect.asVoid(Fiber.interrupt(entry.fiber))
  }

  private keep(key: string, value: unknown, expiresAt: number): void {
    this.fresh.delete(key)
    this.fresh.set(key, { value, expiresAt })
    if (this.fresh.size > this.capacity) {
      const oldest = this.fresh.keys().next()
      if (oldest.done !== true) this.fresh.delete(oldest.value)
    }
  }
}
