/**
 * Every option of every public options type accepts an explicit `undefined`
 * (an app under `exactOptionalPropertyTypes` that forwards its own optional
 * settings writes `{ timeout: settings.timeout }`), and `undefined` means
 * "not set": the default, or the value it would override, holds.
 *
 * `allUndefined<T>()(keys)` compiles only when `keys` names every key of `T`
 * and every key of `T` accepts `undefined`, so this file stops compiling when
 * an option is added without `| undefined` or left out of the list here.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Layer, Redacted } from "effect"
import * as FallbackChain from "../src/FallbackChain.js"
import * as Gemini from "../src/Gemini.js"
import * as HealthProbe from "../src/HealthProbe.js"
import * as ImageDelivery from "../src/ImageDelivery.js"
import * as LoadControl from "../src/LoadControl.js"
import * as ModelStatus from "../src/ModelStatus.js"
import * as Observability from "../src/Observability.js"
import * as OpenAICompatible from "../src/OpenAICompatible.js"
import * as RequestCache from "../src/RequestCache.js"
import * as ResilientClient from "../src/ResilientClient.js"
import * as RetryBudget from "../src/RetryBudget.js"
import * as RetryPolicy from "../src/RetryPolicy.js"
import * as ScriptedProvider from "../src/ScriptedProvider.js"
import * as StatusServer from "../src/StatusServer.js"
import * as VideoPoller from "../src/VideoPoller.js"
import { HardFailure } from "../src/Failure.js"
import * as CircuitBreaker from "../src/CircuitBreaker.js"
import { HttpLive } from "./support/simulator.js"
import { settle } from "./support/clock.js"

type Missing<T, K extends ReadonlyArray<keyof T>> = Exclude<keyof T, K[number]>

const allUndefined = <T>() =>
<const K extends ReadonlyArray<keyof T>>(
  keys: [Missing<T, K>] extends [never] ? K : { readonly missingKeys: Missing<T, K> }
): { readonly [P in keyof T]: undefined } => Object.fromEntries((keys as K).map((k) => [k, undefined])) as { readonly [P in keyof T]: undefined }

// assignable to the options type only if each of its fields accepts undefined
const retry: RetryPolicy.RetryOptions = allUndefined<RetryPolicy.RetryOptions>()([
  "base", "factor", "jitter", "maxDelay", "maxAttempts", "maxElapsed", "retryTruncated", "retryInvalidOutput"
])
const budget: RetryBudget.RetryBudgetOptions = allUndefined<RetryBudget.RetryBudgetOptions>()(["maxTokens", "tokenRatio"])
const load: LoadControl.LoadControlOptions = allUndefined<LoadControl.LoadControlOptions>()(["requestsPerMinute", "concurrency", "assumedServiceTime"])
const cache: RequestCache.RequestCacheOptions = allUndefined<RequestCache.RequestCacheOptions>()(["ttl", "capacity", "shareInFlight"])
const delivery: ImageDelivery.ImageDeliveryOptions = allUndefined<ImageDelivery.ImageDeliveryOptions>()([
  "concurrency", "maxImageBytes", "downloadTimeout", "downloadRetries"
])
const observability: Observability.ObservabilityOptions = allUndefined<Observability.ObservabilityOptions>()([
  "secrets", "failureLogLevel", "changeLogLevel", "openLogLevel", "detailLogLevel", "messageLimit", "attemptSpanName", "requestSpanName"
])
const fallback: FallbackChain.FallbackOptions = allUndefined<FallbackChain.FallbackOptions>()([
  "contentFiltered", "attemptTimeout", "deadline", "retry", "operation", "onAttempt", "admit", "lastResort"
])
const status: Omit<ModelStatus.ModelStatusOptions, "lists"> = allUndefined<Omit<ModelStatus.ModelStatusOptions, "lists">>()([
  "delayedFactor", "baselineSamples", "minBaselineSamples", "recentSamples", "unavailableAfter", "shareWindow", "isFailure", "promoteAfter",
  "promotionTrial", "ramp", "onChange"
])
const probes: Omit<HealthProbe.HealthProbeOptions, "probes"> = allUndefined<Omit<HealthProbe.HealthProbeOptions, "probes">>()(["interval", "always", "immediate"])
const page: StatusServer.StatusServerOptions = allUndefined<StatusServer.StatusServerOptions>()(["title", "heartbeat", "maxEventClients", "token", "allowedHosts"])
const poller: VideoPoller.VideoPollerOptions = allUndefined<VideoPoller.VideoPollerOptions>()([
  "poll", "maxWait", "maxQueued", "notFoundWait", "notFoundRetries", "maxPollErrors", "contentFiltered", "download"
])
const adapter = allUndefined<Omit<OpenAICompatible.Options, "baseUrl" | "apiKey">>()(["name", "timeout", "maxResponseBytes", "headers", "propagateTracing"])
const geminiAdapter = allUndefined<Omit<Gemini.Options, "baseUrl" | "apiKey">>()(["name", "timeout", "maxResponseBytes", "headers", "propagateTracing"])
const breaker: CircuitBreaker.CircuitBreakerOptions = allUndefined<CircuitBreaker.CircuitBreakerOptions>()([
  "window", "buckets", "minimumCalls", "failureRateThreshold", "consecutiveFailures", "openDuration", "openBackoffFactor", "maxOpenDuration",
  "halfOpenProbes", "lastResortInterval", "isFailure"
])
const client: Omit<ResilientClient.ResilientClientConfig, "text"> = allUndefined<Omit<ResilientClient.ResilientClientConfig, "text">>()([
  "image", "video", "fallback", "cacheTtl", "shareInFlight", "load", "imageDelivery", "status", "probes", "degradeTo"
])

const overloaded = (model: string) => Effect.fail(new HardFailure({ reason: "Overloaded", provider: "scripted", model, status: 503, message: "high demand" }))

describe("options given as undefined mean 'not set'", () => {
  it("RetryPolicy and RetryBudget resolve all-undefined options to their defaults", () => {
    expect(RetryPolicy.resolve(retry)).toEqual(Either.right(RetryPolicy.defaults))
    expect(RetryPolicy.resolve({ maxAttempts: undefined }, { ...RetryPolicy.defaults, maxAttempts: 7 })).toEqual(Either.right({ ...RetryPolicy.defaults, maxAttempts: 7 }))
  })

  it.effect("every module builds with all of its options undefined", () =>
    Effect.gen(function*() {
      yield* RetryBudget.make(budget)
      const gate = yield* LoadControl.make(load)
      expect((yield* gate.status).running).toBe(0)
      yield* RequestCache.make(cache)
      yield* ImageDelivery.make(delivery)
      yield* CircuitBreaker.make("m", breaker)
      const modelStatus = yield* ModelStatus.make({ lists: { text: [{ model: "m", vendor: undefined }] }, ...status })
      yield* HealthProbe.make({ probes: [], ...probes }).pipe(Effect.provideService(ModelStatus.ModelStatus, modelStatus))
      yield* StatusServer.routes(page).pipe(Effect.provideService(ModelStatus.ModelStatus, modelStatus))
      yield* OpenAICompatible.make({ baseUrl: "http://127.0.0.1:1", apiKey: Redacted.make("sk-x"), ...adapter })
      yield* Gemini.make({ baseUrl: "http://127.0.0.1:1", apiKey: Redacted.make("x"), ...geminiAdapter })
      yield* Effect.void.pipe(Effect.provide(Observability.layer(observability)))
      yield* Effect.void.pipe(Effect.provide(ResilientClient.policiesLayer({ retry: undefined, breaker: undefined })))
      // no model to run on: the job fails typed, after reading every option
      const job = yield* Effect.flip(VideoPoller.run([], { prompt: "a boat" }, poller))
      expect(job._tag).toBeDefined()
    }).pipe(Effect.scoped, Effect.provide(Layer.mergeAll(CircuitBreaker.layer(), HttpLive))))

  it.effect("a per-call option given as undefined keeps the client's configured value (4 attempts, not the policy's 1)", () =>
    Effect.gen(function*() {
      const scripted = yield* ScriptedProvider.make({ generateText: (request) => overloaded(request.model) })
      const resilient = yield* ResilientClient.make({
        text: [{ model: "m", provider: scripted.provider }],
        ...client,
        fallback: { retry: { maxAttempts: 4, jitter: "none", base: "1 millis" }, lastResort: false }
      })
      yield* settle(Effect.flip(resilient.generateText({ messages: [{ role: "user", content: "hi" }] }, { ...fallback, retry: { maxAttempts: undefined } })))
      expect(yield* scripted.calls).toHaveLength(4)
    }).pipe(Effect.scoped, Effect.provide(Layer.merge(ResilientClient.policiesLayer({ retry: { maxAttempts: 1 } }), HttpLive))))
})
