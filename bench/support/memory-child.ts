/**
 * The measuring side of `bench/memory.ts` (the memory benchmark), run by it as
 * `node --expose-gc memory-child.js <options JSON>`; the result goes back
 * over the IPC channel. See `bench/memory.ts` for the method.
 */
import { writeHeapSnapshot } from "node:v8"
import { join } from "node:path"
import { HttpClient, HttpClientRequest } from "@effect/platform"
import { NodeHttpClient } from "@effect/platform-node"
import { Clock, Effect, Fiber, Layer, Logger, LogLevel, Redacted } from "effect"
import * as CircuitBreaker from "../../src/CircuitBreaker.js"
import { HardFailure } from "../../src/Failure.js"
import * as OpenAICompatible from "../../src/OpenAICompatible.js"
import * as ResilientClient from "../../src/ResilientClient.js"
import { Message } from "../../src/TextGeneration.js"
import * as Sim from "./simulator.js"
import { openSockets } from "./sockets.js"

export interface ChildOptions {
  readonly snapshotDir: string
  readonly breaker: {
    /** Cumulative outcomes per breaker at which a heap snapshot is written. */
    readonly checkpoints: ReadonlyArray<number>
    /** Breakers measured together by heapUsed difference. */
    readonly many: number
    /** Outcomes per breaker at which the many-breaker heap is read. */
    readonly manyCheckpoints: ReadonlyArray<number>
  }
  readonly inflight: {
    readonly requests: number
    /** Also measure the bare HttpClient with the same number in flight. */
    readonly bare: boolean
    /** Also a phase where the requests are held by simulated latency and finish on their own. */
    readonly finish: boolean
    readonly holdMs: number
    /** Give up waiting for everything to be in flight after this long. */
    readonly launchTimeoutMs: number
    /** Requests launched at once. */
    readonly batch: number
  }
  readonly skipBreaker?: boolean
  readonly skipInflight?: boolean
}

export interface Heap {
  readonly heapUsed: number
  readonly external: number
  readonly rss: number
}

export interface ManyBreakerPoint {
  readonly outcomes: number
  readonly bytesPerBreaker: number
}

export interface SnapshotPoint {
  readonly outcomes: number
  readonly file: string
  readonly heapUsed: number
  readonly states: Readonly<Record<string, { state: string; opened: number; calls: number; failures: number }>>
}

export interface InflightPhase {
  readonly name: string
  readonly requests: number
  readonly launchMs: number
  /** How many the simulator had received and was holding when measured. */
  readonly held: number
  readonly before: Heap
  readonly peak: Heap
  readonly after: Heap
  readonly clientSocketsBefore: number
  readonly clientSocketsPeak: number
  readonly clientSocketsAfter: number
  readonly serverSocketsPeak: number
  readonly how: "interrupted" | "finished"
  readonly completed: number
  readonly failed: number
  /** From the interruption (or the last completion) until the client's sockets were closed (10 s at most). */
  readonly settleMs: number
  /** How long `Fiber.interrupt` (or `Fiber.join`) took. */
  readonly interruptMs: number
}

export interface ChildResult {
  readonly breakerModels: { readonly closed: string; readonly tripping: string }
  readonly many: { readonly breakers: number; readonly points: ReadonlyArray<ManyBreakerPoint>; readonly heapAt: ReadonlyArray<number>; readonly baseline: number }
  readonly snapshots: ReadonlyArray<SnapshotPoint>
  readonly inflight: ReadonlyArray<InflightPhase>
  readonly ulimit: string
}

declare const gc: (() => void) | undefined

const collect = () => {
  for (let i = 0; i < 4; i++) gc!()
}
const heap = (): Heap => {
  collect()
  const m = process.memoryUsage()
  return { heapUsed: m.heapUsed, external: m.external, rss: m.rss }
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** A clock the loop moves by hand, so a million outcomes span many windows in no time. */
class BenchClock implements Clock.Clock {
  readonly [Clock.ClockTypeId]: Clock.ClockTypeId = Clock.ClockTypeId
  now = Date.parse("2026-01-15T01:00:00Z")
  unsafeCurrentTimeMillis() {
    return this.now
  }
  unsafeCurrentTimeNanos() {
    return BigInt(this.now) * 1_000_000n
  }
  readonly currentTimeMillis = Effect.sync(() => this.now)
  readonly currentTimeNanos = Effect.sync(() => this.unsafeCurrentTimeNanos())
  sleep() {
    return Effect.void
  }
}

const overloaded = new HardFailure({ reason: "Overloaded", provider: "bench", model: "bench", status: 503, message: "overloaded" })
const ok = Effect.succeed("ok")
const fail = Effect.fail(overloaded)

/**
 * Closed with failures: 1 call in 10 fails (a counted `Overloaded`), 1 ms
 * apart — a 10 % failure rate, never 5 in a row, so it stays closed while
 * the 60 s window slides on (1 M outcomes = 1000 s = 16 windows).
 */
const closedPattern = (breaker: CircuitBreaker.CircuitBreaker, clock: BenchClock, from: number, to: number) =>
  Effect.gen(function*() {
    for (let j = from; j < to; j++) {
      clock.now += 1
      yield* Effect.either(breaker.withBreaker(j % 10 === 9 ? fail : ok))
    }
  }).pipe(Effect.withClock(clock))

/**
 * Tripping: cycles of 100 calls — 80 successes, 10 failures (the 5th in a
 * row opens it; the other 5 are rejected with `CircuitOpen`), then the clock
 * jumps past the longest open time and the next call is the probe that
 * closes it, then 9 more successes. Every cycle opens, half-opens and closes.
 */
const trippingPattern = (breaker: CircuitBreaker.CircuitBreaker, clock: BenchClock, from: number, to: number) =>
  Effect.gen(function*() {
    for (let j = from; j < to; j++) {
      const k = j % 100
      clock.now += k === 90 ? 31 * 60_000 : 1
      yield* Effect.either(breaker.withBreaker(k >= 80 && k < 90 ? fail : ok))
    }
  }).pipe(Effect.withClock(clock))

const breakerSection = async (options: ChildOptions) => {
  const breakers = await Effect.runPromise(Effect.provide(CircuitBreaker.CircuitBreakers, CircuitBreaker.layer()))
  // warm-up: compile the paths on throwaway breakers before any baseline
  for (let i = 0; i < 4; i++) {
    const b = await Effect.runPromise(breakers.get(`warm-${i}`))
    await Effect.runPromise(closedPattern(b, new BenchClock(), 0, 20_000))
    await Effect.runPromise(trippingPattern(b, new BenchClock(), 0, 20_000))
  }

  // (1) many breakers, heapUsed difference
  const K = options.breaker.many
  const baseline = heap().heapUsed
  const many: Array<CircuitBreaker.CircuitBreaker> = []
  for (let i = 0; i < K; i++) many.push(await Effect.runPromise(breakers.get(`many-${i}`)))
  const clocks = many.map(() => new BenchClock())
  const points: Array<ManyBreakerPoint> = []
  const heapAt: Array<number> = []
  let done = 0
  for (const cp of options.breaker.manyCheckpoints) {
    for (let i = 0; i < K; i++) await Effect.runPromise(closedPattern(many[i]!, clocks[i]!, done, cp))
    done = cp
    const h = heap().heapUsed
    heapAt.push(h)
    points.push({ outcomes: cp, bytesPerBreaker: (h - baseline) / K })
  }
  const stillClosed = await Effect.runPromise(Effect.forEach(many, (b) => b.state))
  if (stillClosed.some((s) => s !== "closed")) throw new Error("a closed-pattern breaker opened")
  many.length = 0

  // (2) two breakers, heap snapshots at each checkpoint
  const closedModel = "bench-breaker-closed"
  const trippingModel = "bench-breaker-tripping"
  const closed = await Effect.runPromise(breakers.get(closedModel))
  const tripping = await Effect.runPromise(breakers.get(trippingModel))
  const closedClock = new BenchClock()
  const trippingClock = new BenchClock()
  const snapshots: Array<SnapshotPoint> = []
  done = 0
  for (const cp of options.breaker.checkpoints) {
    await Effect.runPromise(closedPattern(closed, closedClock, done, cp))
    await Effect.runPromise(trippingPattern(tripping, trippingClock, done, cp))
    done = cp
    const states: Record<string, { state: string; opened: number; calls: number; failures: number }> = {}
    for (const [b, c] of [[closed, closedClock], [tripping, trippingClock]] as const) {
      const s = await Effect.runPromise(b.snapshot.pipe(Effect.withClock(c)))
      states[b.model] = { state: s.state, opened: s.opened, calls: s.calls, failures: s.failures }
    }
    const heapUsed = heap().heapUsed
    const file = writeHeapSnapshot(join(options.snapshotDir, `breakers-${cp}.heapsnapshot`))
    snapshots.push({ outcomes: cp, file, heapUsed, states })
  }
  return {
    breakerModels: { closed: closedModel, tripping: trippingModel },
    many: { breakers: K, points, heapAt, baseline },
    snapshots
  }
}

const inflightSection = async (options: ChildOptions): Promise<ReadonlyArray<InflightPhase>> => {
  const o = options.inflight
  // "[sim:hang]" holds the requests of the interrupted phases (models without latency);
  // a fixed latency (median = p95) holds those of the "finish" phase (models of their own)
  const models = ["bench-hold-1", "bench-hold-2", "bench-hold-3"]
  const slowModels = ["bench-slow-1", "bench-slow-2", "bench-slow-3"]
  const sim = await Sim.start({
    seed: 4,
    timeScale: 1,
    models: [
      ...models.map((id) => ({ id, vendor: "bench", kind: "text" as const })),
      ...slowModels.map((id) => ({ id, vendor: "bench", kind: "text" as const, latency: { medianMs: o.holdMs, p95Ms: o.holdMs } }))
    ]
  })
  const phases: Array<InflightPhase> = []
  try {
    const program = Effect.gen(function*() {
      const http = yield* HttpClient.HttpClient
      const provider = yield* OpenAICompatible.make({ baseUrl: sim.url, apiKey: Redacted.make("sk-bench-memory") })
      // never throttles, and lets every request in at once
      const load = { requestsPerMinute: 1_000_000_000, concurrency: 2 * o.requests }
      const client = yield* ResilientClient.make({ text: models.map((model, i) => ({ model, provider, vendor: `bench-${i + 1}` })), load })
      const slowClient = yield* ResilientClient.make({ text: slowModels.map((model, i) => ({ model, provider, vendor: `bench-${i + 1}` })), load })
      let seq = 0
      const bare = (prompt: string) =>
        HttpClientRequest.post(`${sim.url}/v1/chat/completions`).pipe(
          HttpClientRequest.bearerToken("sk-bench-memory"),
          HttpClientRequest.acceptJson,
          HttpClientRequest.bodyJson({ model: models[0], messages: [{ role: "user", content: prompt }] }),
          Effect.flatMap(http.execute),
          Effect.flatMap((r) => r.json)
        )
      const resilient = (prompt: string) => client.generateText({ messages: [Message.make({ role: "user", content: prompt })] })
      const resilientSlow = (prompt: string) => slowClient.generateText({ messages: [Message.make({ role: "user", content: prompt })] })

      const held = (state: Awaited<ReturnType<typeof sim.state>>, how: "hang" | "ok") =>
        state.models.reduce((a, m) => a + (how === "hang" ? m.outcomes.hang : m.requests), 0)

      const phase = (name: string, call: (prompt: string) => Effect.Effect<unknown, unknown>, how: "interrupted" | "finished") =>
        Effect.gen(function*() {
          // settle: let sockets from the previous phase close
          yield* Effect.promise(() => sleep(500))
          const clientSocketsBefore = openSockets()
          const base = yield* Effect.promise(() => sim.state())
          const before = heap()
          let completed = 0
          let failed = 0
          const t0 = performance.now()
          const kind = how === "interrupted" ? "hang" : "ok"
          let count = 0
          const countHeld = Effect.map(Effect.promise(() => sim.state()), (state) => held(state, kind) - held(base, kind))
          // launched in batches, each once the previous one is held: a burst of 10 k
          // connects at once overflows the simulator's accept backlog (Node's default 511)
          // and undici's 10 s connect time-out fails some of them
          const fibers: Array<Fiber.RuntimeFiber<void>> = []
          for (let launched = 0; launched < o.requests;) {
            const n = Math.min(o.batch, o.requests - launched)
            fibers.push(yield* Effect.fork(Effect.forEach(
              Array.from({ length: n }, () => seq++),
              (i) =>
                Effect.matchEffect(call(`Memory benchmark request ${i}${how === "interrupted" ? " [sim:hang]" : ""}`), {
                  onFailure: () => Effect.sync(() => failed++),
                  onSuccess: () => Effect.sync(() => completed++)
                }),
              { concurrency: "unbounded", discard: true }
            )))
            launched += n
            // wait until the simulator holds every request launched so far
            while (true) {
              yield* Effect.promise(() => sleep(100))
              count = yield* countHeld
              if (count + failed >= launched || completed > 0 || performance.now() - t0 > o.launchTimeoutMs) break
            }
            if (completed > 0 || performance.now() - t0 > o.launchTimeoutMs) break
          }
          const fiber = Fiber.all(fibers)
          const launchMs = performance.now() - t0
          const clientSocketsPeak = openSockets()
          const serverSocketsPeak = yield* Effect.promise(() => sim.sockets())
          const peak = heap()
          const tEnd = performance.now()
          if (how === "interrupted") yield* Fiber.interrupt(fiber)
          else yield* Fiber.join(fiber)
          const interruptMs = performance.now() - tEnd
          // let aborted and idle keep-alive sockets close (undici keeps idle ones ~4 s)
          const t1 = performance.now()
          while (openSockets() > clientSocketsBefore + 5 && performance.now() - t1 < 10_000) yield* Effect.promise(() => sleep(250))
          const settleMs = performance.now() - t1
          yield* Effect.promise(() => sleep(250))
          const after = heap()
          const clientSocketsAfter = openSockets()
          return {
            name, requests: o.requests, launchMs, held: count, before, peak, after,
            clientSocketsBefore, clientSocketsPeak, clientSocketsAfter, serverSocketsPeak, how, completed, failed, settleMs, interruptMs
          } satisfies InflightPhase
        })

      // warm-up: a few hundred of each, so compilation is not counted as growth
      yield* Effect.forEach(Array.from({ length: 300 }, () => seq++), (i) => Effect.either(bare(`warm ${i} [sim:ok]`)), { concurrency: 50 })
      yield* Effect.forEach(Array.from({ length: 300 }, () => seq++), (i) => Effect.either(resilient(`warm ${i} [sim:ok]`)), { concurrency: 50 })
      if (o.bare) phases.push(yield* phase("bare HttpClient, held by the simulator ([sim:hang]), then interrupted", bare, "interrupted"))
      phases.push(yield* phase("resilient client, held by the simulator ([sim:hang]), then interrupted", resilient, "interrupted"))
      if (o.finish) phases.push(yield* phase(`resilient client, held by ${o.holdMs / 1000} s of simulated latency, then finished`, resilientSlow, "finished"))
    })
    await Effect.runPromise(
      program.pipe(
        Effect.scoped,
        Effect.provide(Layer.mergeAll(ResilientClient.policiesLayer(), NodeHttpClient.layerUndici)),
        Logger.withMinimumLogLevel(LogLevel.None),
        Effect.orDie
      )
    )
  } finally {
    await sim.stop()
  }
  return phases
}

const main = async () => {
  if (typeof gc !== "function") throw new Error("run with --expose-gc")
  const options = JSON.parse(process.argv[2] ?? "{}") as ChildOptions
  const { execSync } = await import("node:child_process")
  let ulimit = "?"
  try {
    ulimit = execSync("ulimit -Sn; ulimit -Hn", { shell: "/bin/sh" }).toString().trim().split("\n").join(" soft / ") + " hard"
  } catch {
    // not a shell
  }
  const b = options.skipBreaker
    ? { breakerModels: { closed: "", tripping: "" }, many: { breakers: 0, points: [], heapAt: [], baseline: 0 }, snapshots: [] }
    : await breakerSection(options)
  const inflight = options.skipInflight ? [] : await inflightSection(options)
  const result: ChildResult = { ...b, inflight, ulimit }
  process.send!({ type: "result", result }, () => process.exit(0))
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
