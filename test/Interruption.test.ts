import { describe, expect, it } from "@effect/vitest"
import { Chunk, Clock, Effect, Exit, Fiber, Layer, Option, Scope, Supervisor, TestClock } from "effect"
import * as CircuitBreaker from "../src/CircuitBreaker.js"
import type * as FallbackChain from "../src/FallbackChain.js"
import { ImageRequest } from "../src/ImageGeneration.js"
import type * as LoadControl from "../src/LoadControl.js"
import * as ResilientClient from "../src/ResilientClient.js"
import * as RetryPolicy from "../src/RetryPolicy.js"
import { Message, TextRequest } from "../src/TextGeneration.js"
import { ioTurn } from "./support/clock.js"
import { untilIo, watchServer } from "./support/serverWatch.js"
import { HttpLive, startSimulator } from "./support/simulator.js"

// Interrupting a call aborts its HTTP request (the simulator's
// server sees the client hang up), nothing starts after the interruption (no
// retry, no fallback: request counts stay put however far the clock moves),
// the breaker counts nothing for the cut-off attempt, load control's queue
// empties, and no fiber the call started is left running. Real loopback HTTP;
// the clock is a TestClock and is never moved while a call is being cut off.

/** A retry that would wait 10 s, and breakers that one counted failure opens. */
const Policies = Layer.mergeAll(
  RetryPolicy.layer({ jitter: "none", base: "10 seconds", maxAttempts: 3, budget: { maxTokens: 1000 } }),
  CircuitBreaker.layer({ minimumCalls: 1, failureRateThreshold: 0.5 })
)
const Env = Layer.merge(Policies, HttpLive)

const TEXT = ["gpt-4.1-mini", "gemini-2.5-flash"] as const
const IMAGE = ["gemini-2.5-flash-image", "gpt-image-1.5"] as const
const ALL = [...TEXT, ...IMAGE]

const say = (content: string): { readonly messages: readonly [Message] } => ({ messages: [Message.make({ role: "user", content })] })

/** A simulator, a watch on its server, and a client with a 2-model text chain and a 2-model image chain. */
const setup = (load?: LoadControl.LoadControlOptions) =>
  Effect.gen(function*() {
    const { gemini, openai, sim } = yield* startSimulator()
    const server = yield* watchServer(sim.port)
    const client = yield* ResilientClient.make({
      text: [{ model: TEXT[0], provider: openai }, { model: TEXT[1], provider: gemini }],
      image: [{ model: IMAGE[0], provider: gemini }, { model: IMAGE[1], provider: openai }],
      ...(load === undefined ? {} : { load })
    })
    const breakers = yield* CircuitBreaker.CircuitBreakers
    const attempts: Array<FallbackChain.AttemptRecord> = []
    const requests = Effect.map(sim.snapshot, (s) => Object.fromEntries(ALL.map((id) => [id, s.models.find((m) => m.id === id)!.requests])))
    return {
      sim,
      openai,
      gemini,
      server,
      client,
      /** Per-call options that keep the attempt log. */
      logged: { onAttempt: (record: FallbackChain.AttemptRecord) => Effect.sync(() => void attempts.push(record)) },
      attempts: Effect.sync(() => attempts.map((a) => ({ model: a.model, outcome: a.outcome, reason: a.reason }))),
      /** Requests that reached outcome selection, per model. */
      requests,
      breakerCounts: Effect.forEach(ALL, (model) =>
        Effect.map(Effect.flatMap(breakers.get(model), (b) => b.snapshot), (s) => [model, { state: s.state, calls: s.calls, failures: s.failures, opened: s.opened }] as const)
      ).pipe(Effect.map(Object.fromEntries)),
      queues: Effect.map(client.queues, (qs) => Object.fromEntries(qs.map((q) => [q.model, { waiting: q.status.waiting, running: q.status.running }])))
    }
  })

/** Fork `effect` with a supervisor that tracks every fiber it starts (shared calls' own fibers included). */
const forkTracked = <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    const supervisor = yield* Supervisor.track
    const fiber = yield* Effect.fork(Effect.supervised(effect, supervisor))
    return { fiber, alive: supervisor.value }
  })

/** Interrupt `fiber` and wait for it to end, letting I/O run but never moving the clock. */
const interruptPromptly = <A, E>(fiber: Fiber.Fiber<A, E>) =>
  Effect.gen(function*() {
    const interrupter = yield* Effect.fork(Fiber.interrupt(fiber))
    yield* untilIo("the interrupted call to end without the clock moving", Effect.map(Fiber.poll(interrupter), Option.isSome))
    return yield* Fiber.join(interrupter)
  })

/** Move the TestClock far past every backoff, time-out and open breaker (30 min), letting I/O run at each step. */
const muchLater = Effect.gen(function*() {
  for (let minute = 0; minute < 30; minute++) {
    for (let i = 0; i < 5; i++) yield* ioTurn
    yield* TestClock.adjust("1 minute")
  }
  for (let i = 0; i < 20; i++) yield* ioTurn
})

/** Run `effect` to its end on I/O alone (the simulator answers at once). */
const onIo = <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(effect)
    yield* untilIo("the call to complete", Effect.map(Fiber.poll(fiber), Option.isSome))
    return yield* Fiber.join(fiber)
  })

const idleQueues = Object.fromEntries(ALL.map((m) => [m, { waiting: 0, running: 0 }]))
/** A breaker that has recorded nothing and never opened (`opened` outlives the 60 s window). */
const untouched = { state: "closed", calls: 0, failures: 0, opened: 0 }

describe("Interruption", () => {
  it.scoped("interrupting a bare adapter call aborts its HTTP request: the simulator sees the client hang up", () =>
    Effect.gen(function*() {
      const { gemini, openai, requests, server } = yield* setup()
      const calls: ReadonlyArray<{ readonly model: string; readonly call: Effect.Effect<unknown, unknown> }> = [
        {
          model: "gpt-4.1-mini",
          call: openai.generateText(TextRequest.make({ model: "gpt-4.1-mini", ...say("hold on [sim:hang]") }))
        },
        {
          model: "gemini-2.5-flash-image",
          call: gemini.generateImage(ImageRequest.make({ model: "gemini-2.5-flash-image", prompt: "a lighthouse [sim:hang]" }))
        }
      ]
      for (const [i, { call, model }] of calls.entries()) {
        const { alive, fiber } = yield* forkTracked(call)
        yield* untilIo(`the ${model} request to hang at the simulator`, Effect.map(Effect.zip(requests, server.open), ([r, open]) => r[model] === 1 && open === 1))
        const exit = yield* interruptPromptly(fiber)
        expect(Exit.isInterrupted(exit)).toBe(true)
        yield* untilIo("the simulator to see the connection close", Effect.map(server.abandoned, (n) => n === i + 1))
        expect(yield* server.open).toBe(0)
        expect(yield* alive).toEqual([])
      }
      yield* muchLater
      // the adapters have no retry of their own: nothing was sent again
      expect(yield* requests).toEqual({ "gpt-4.1-mini": 1, "gemini-2.5-flash": 0, "gemini-2.5-flash-image": 1, "gpt-image-1.5": 0 })
      expect((yield* server.exchanges).map((e) => [e.answered, e.abandoned])).toEqual([[false, true], [false, true]])
    }).pipe(Effect.provide(Env)))

  const midAttempt = (operation: "text" | "image") =>
    Effect.gen(function*() {
      const { attempts, breakerCounts, client, logged, queues, requests, server } = yield* setup()
      const [primary, fallback] = operation === "text" ? TEXT : IMAGE
      const call: Effect.Effect<unknown, unknown> = operation === "text"
        ? client.generateText(say("hold on [sim:hang]"), logged)
        : client.generateImage({ prompt: "a lighthouse [sim:hang]" }, logged)
      // three callers in turn give up on a hanging primary
      for (let round = 1; round <= 3; round++) {
        const { alive, fiber } = yield* forkTracked(call)
        yield* untilIo(
          `round ${round}: the primary's request to hang at the simulator`,
          Effect.map(Effect.zip(requests, server.open), ([r, open]) => r[primary] === round && open === 1)
        )
        expect((yield* queues)[primary]).toEqual({ waiting: 0, running: 1 })
        const exit = yield* interruptPromptly(fiber)
        expect(Exit.isInterrupted(exit)).toBe(true)
        yield* untilIo("the simulator to see the connection close", Effect.map(server.abandoned, (n) => n === round))
        // everything the call started has ended, its queue slot is free
        expect(yield* alive).toEqual([])
        expect(yield* queues).toEqual(idleQueues)
        // a cancelled call says nothing about the model: its breaker (which one counted failure opens) counted nothing
        expect((yield* breakerCounts)[primary]).toEqual(untouched)
      }
      yield* muchLater
      // no retry of the primary and no fallback started after any interruption
      expect((yield* requests)[primary]).toBe(3)
      expect((yield* requests)[fallback]).toBe(0)
      expect(yield* attempts).toEqual(Array(3).fill({ model: primary, outcome: "failure", reason: "Interrupted" }))
      const counts = yield* breakerCounts
      expect([counts[primary], counts[fallback]]).toEqual([untouched, untouched])
      // nor did the model status (3 failures in a row would make it unavailable)
      const health = (yield* client.status.snapshot).models.find((m) => m.model === primary)!
      expect([health.health, health.reason]).toEqual(["normal", "ok"])
      expect(yield* queues).toEqual(idleQueues)
      expect(yield* server.open).toBe(0)
    })

  it.scoped("interrupting generateText mid-attempt aborts the request; no retry or fallback follows", () =>
    midAttempt("text").pipe(Effect.provide(Env)))

  it.scoped("interrupting generateImage mid-attempt aborts the request; no retry or fallback follows", () =>
    midAttempt("image").pipe(Effect.provide(Env)))

  it.scoped("interrupting a call waiting in its retry backoff: no further attempt, no fallback", () =>
    Effect.gen(function*() {
      const { attempts, breakerCounts, client, logged, queues, requests, server, sim } = yield* setup()
      yield* sim.setOverride("gpt-4.1-mini", "overloaded")
      const { alive, fiber } = yield* forkTracked(client.generateText(say("hello"), logged))
      yield* untilIo("the first attempt to fail with 503", Effect.map(attempts, (log) => log.length === 1))
      // the call now waits out its 10 s backoff (a sleep on the TestClock), with nothing in flight
      yield* untilIo(
        "the call to wait in its retry backoff",
        Effect.map(Effect.zip(TestClock.sleeps(), Clock.currentTimeMillis), ([sleeps, now]) => Chunk.some(sleeps, (at) => at === now + 10_000))
      )
      expect(yield* server.open).toBe(0)
      expect(yield* queues).toEqual(idleQueues)
      const exit = yield* interruptPromptly(fiber)
      expect(Exit.isInterrupted(exit)).toBe(true)
      expect(yield* alive).toEqual([])
      // the breaker holds the one real failure (which opened it: one is enough here) and nothing for the interrupted wait
      const counts = yield* breakerCounts
      expect(counts["gpt-4.1-mini"]).toEqual({ state: "open", calls: 1, failures: 1, opened: 1 })
      // an open primary would send a retry straight to the fallback: had the call lived on, the fallback would be called
      yield* muchLater
      expect(yield* requests).toEqual({ "gpt-4.1-mini": 1, "gemini-2.5-flash": 0, "gemini-2.5-flash-image": 0, "gpt-image-1.5": 0 })
      expect(yield* attempts).toEqual([{ model: "gpt-4.1-mini", outcome: "failure", reason: "Overloaded" }])
      expect((yield* breakerCounts)["gemini-2.5-flash"]).toEqual(untouched)
      expect((yield* breakerCounts)["gpt-4.1-mini"]!.opened).toBe(1)
      expect(yield* queues).toEqual(idleQueues)
    }).pipe(Effect.provide(Env)))

  it.scoped("interrupting a call queued for a load-control slot: it leaves the queue and never sends", () =>
    Effect.gen(function*() {
      const { attempts, breakerCounts, client, logged, queues, requests, server } = yield* setup({ concurrency: 1 })
      const first = yield* forkTracked(client.generateText(say("first [sim:hang]"), logged))
      yield* untilIo("the first call to hang at the simulator", Effect.map(requests, (r) => r["gpt-4.1-mini"] === 1))
      const queued = yield* forkTracked(client.generateText(say("second"), logged))
      yield* untilIo("the second call to queue behind it", Effect.map(queues, (q) => q["gpt-4.1-mini"]!.waiting === 1))
      expect((yield* queues)["gpt-4.1-mini"]).toEqual({ waiting: 1, running: 1 })

      expect(Exit.isInterrupted(yield* interruptPromptly(queued.fiber))).toBe(true)
      expect(yield* queued.alive).toEqual([])
      expect((yield* queues)["gpt-4.1-mini"]).toEqual({ waiting: 0, running: 1 })

      expect(Exit.isInterrupted(yield* interruptPromptly(first.fiber))).toBe(true)
      yield* untilIo("the simulator to see the first connection close", Effect.map(server.abandoned, (n) => n === 1))
      expect(yield* first.alive).toEqual([])
      expect(yield* queues).toEqual(idleQueues)
      expect((yield* breakerCounts)["gpt-4.1-mini"]).toEqual(untouched)

      yield* muchLater
      expect(yield* requests).toEqual({ "gpt-4.1-mini": 1, "gemini-2.5-flash": 0, "gemini-2.5-flash-image": 0, "gpt-image-1.5": 0 })
      expect(yield* attempts).toEqual([{ model: "gpt-4.1-mini", outcome: "failure", reason: "Interrupted" }])
      expect((yield* breakerCounts)["gpt-4.1-mini"]).toEqual(untouched)
      expect(yield* queues).toEqual(idleQueues)
    }).pipe(Effect.provide(Env)))

  it.scoped("interrupting a call waiting for a rate-limit token: it never sends, not even when the token comes", () =>
    Effect.gen(function*() {
      const { attempts, breakerCounts, client, logged, queues, requests } = yield* setup({ concurrency: 10, requestsPerMinute: 1 })
      // the first call takes the primary's only token; the next one comes a minute later
      const served = yield* onIo(client.generateText(say("first"), logged))
      expect(served.model).toBe("gpt-4.1-mini")
      expect((yield* breakerCounts)["gpt-4.1-mini"]).toEqual({ ...untouched, calls: 1 })
      const { alive, fiber } = yield* forkTracked(client.generateText(say("second"), logged))
      yield* untilIo("the second call to wait for a token", Effect.map(queues, (q) => q["gpt-4.1-mini"]!.waiting === 1))
      yield* TestClock.adjust("30 seconds")
      expect((yield* queues)["gpt-4.1-mini"]).toEqual({ waiting: 1, running: 0 })
      expect(Exit.isInterrupted(yield* interruptPromptly(fiber))).toBe(true)
      expect(yield* alive).toEqual([])
      expect(yield* queues).toEqual(idleQueues)
      yield* muchLater
      // the token came 30 s later: nobody used it, and the call did not fall back either
      expect(yield* requests).toEqual({ "gpt-4.1-mini": 1, "gemini-2.5-flash": 0, "gemini-2.5-flash-image": 0, "gpt-image-1.5": 0 })
      expect(yield* attempts).toEqual([{ model: "gpt-4.1-mini", outcome: "success", reason: undefined }])
      expect((yield* breakerCounts)["gpt-4.1-mini"]!.opened).toBe(0)
    }).pipe(Effect.provide(Env)))

  it.scoped("closing the scope that owns a client interrupts its calls in flight, aborts their requests and ends every fiber", () =>
    Effect.gen(function*() {
      const { gemini, openai, sim } = yield* startSimulator()
      const server = yield* watchServer(sim.port)
      const supervisor = yield* Supervisor.track
      const scope = yield* Scope.make()
      const client = yield* ResilientClient.make({
        text: [{ model: TEXT[0], provider: openai }, { model: TEXT[1], provider: gemini }],
        image: [{ model: IMAGE[0], provider: gemini }, { model: IMAGE[1], provider: openai }]
      }).pipe(Scope.extend(scope), Effect.supervised(supervisor))
      const inFlight: ReadonlyArray<Effect.Effect<unknown, unknown>> = [
        client.generateText(say("one [sim:hang]")),
        client.generateImage({ prompt: "two [sim:hang]" })
      ]
      const calls = yield* Effect.forEach(inFlight, (call) => Effect.forkIn(Effect.supervised(call, supervisor), scope))
      yield* untilIo("both requests to hang at the simulator", Effect.map(server.open, (n) => n === 2))
      expect((yield* supervisor.value).length).toBeGreaterThan(2)

      const closing = yield* Effect.fork(Scope.close(scope, Exit.void))
      yield* untilIo("the scope to close without the clock moving", Effect.map(Fiber.poll(closing), Option.isSome))
      for (const fiber of calls) expect(Exit.isInterrupted(yield* Fiber.await(fiber))).toBe(true)
      yield* untilIo("the simulator to see both connections close", Effect.map(server.abandoned, (n) => n === 2))
      // the calls, their shared-call fibers and the client's own background fibers: all gone
      expect(yield* supervisor.value).toEqual([])

      yield* muchLater
      const counts = yield* sim.snapshot
      expect(Object.fromEntries(counts.models.filter((m) => ALL.includes(m.id as never)).map((m) => [m.id, m.requests]))).toEqual({
        "gpt-4.1-mini": 1,
        "gemini-2.5-flash": 0,
        "gemini-2.5-flash-image": 1,
        "gpt-image-1.5": 0
      })
    }).pipe(Effect.provide(Env)))
})
