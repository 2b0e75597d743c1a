/**
 * A 3xx from a provider is a wrong base URL, not an outage: one attempt, a
 * hard `Redirected` failure that names where the `Location` points (never
 * its query, fragment or user-info), no retry, nothing counted against the
 * model's health, and the chain goes on to the next model. Redirects are
 * never followed, whatever `HttpClient` is in context — so the key is never
 * sent to the `Location`.
 */
import { FetchHttpClient } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Effect, FastCheck as fc, Layer, Redacted } from "effect"
import * as CircuitBreaker from "../src/CircuitBreaker.js"
import { classifyResponse } from "../src/Classification.js"
import { HardFailure, isFallbackEligible, isRetryable } from "../src/Failure.js"
import * as Gemini from "../src/Gemini.js"
import * as OpenAICompatible from "../src/OpenAICompatible.js"
import * as ResilientClient from "../src/ResilientClient.js"
import * as RetryPolicy from "../src/RetryPolicy.js"
import { Message, TextRequest } from "../src/TextGeneration.js"
import { settle } from "./support/clock.js"
import { apiKey, HttpLive, KEY, serveFixed, serveJson, startSimulator } from "./support/simulator.js"

/** A query a signed URL might carry: it must never reach a failure. */
const TOKEN = "tok_QUERYSECRET_7f3a9c1d"
const MOVED = `https://moved.example/v1/chat/completions?token=${TOKEN}&sig=${TOKEN}#frag_${TOKEN}`

const ask = (prompt: string) => TextRequest.make({ model: "gpt-4.1-mini", messages: [Message.make({ role: "user", content: prompt })] })

const hard = (u: unknown): HardFailure => {
  expect(u).toBeInstanceOf(HardFailure)
  return u as HardFailure
}

describe("classifyResponse: 3xx", () => {
  it.each([300, 301, 302, 303, 307, 308])("HTTP %i is a non-retryable Redirected naming the Location's host and path, not its query", (status) => {
    const failure = classifyResponse({
      status,
      headers: { Location: MOVED, "x-request-id": "req_redirect_1" },
      body: `Redirecting to ${MOVED}`,
      provider: "gateway",
      model: "m"
    })
    expect(failure.reason).toBe("Redirected")
    expect(failure.status).toBe(status)
    expect(failure.requestId).toBe("req_redirect_1")
    expect(failure.message).toContain("https://moved.example/v1/chat/completions")
    expect(failure.message).toContain("base URL")
    // the body repeats the full target: it is not kept
    expect(JSON.stringify(failure)).not.toContain(TOKEN)
    expect(failure.rawBody).toBeUndefined()
    expect(isRetryable(failure)).toBe(false)
    expect(isFallbackEligible(failure)).toBe(true)
  })

  const REQUEST = "http://127.0.0.1:4321/v1/chat/completions"
  it.each([
    ["missing", undefined, REQUEST, ["without a Location"], []],
    ["empty", "", REQUEST, ["without a Location"], []],
    ["given twice (joined by the client), the second a javascript: URL", `, javascript:${TOKEN}`, REQUEST, ["several Location values"], [TOKEN, "javascript"]],
    ["given twice, both http", `https://a.example/x?t=${TOKEN}, https://b.example/y`, REQUEST, ["several Location values"], [TOKEN, "a.example"]],
    ["relative, read against the request URL", `/v2/chat?token=${TOKEN}`, REQUEST, ["http://127.0.0.1:4321/v2/chat"], [TOKEN]],
    ["relative, with no request URL", `v2/chat?token=${TOKEN}`, undefined, ["the path /v2/chat"], [TOKEN, "relative.invalid"]],
    ["scheme-relative", `//other.example/x?token=${TOKEN}`, undefined, ["http://other.example/x"], [TOKEN]],
    ["with credentials", `https://admin:hunter2pass@evil.example:8443/x?token=${TOKEN}`, REQUEST, ["https://evil.example:8443/x"], ["hunter2pass", "admin", TOKEN]],
    ["with a huge query", `https://cdn.example/file?${"a=b&".repeat(50_000)}${TOKEN}`, REQUEST, ["https://cdn.example/file"], [TOKEN, "a=b"]],
    ["with a huge path", `https://cdn.example/${"p".repeat(100_000)}?${TOKEN}`, REQUEST, ["Location of 100"], [TOKEN, "ppp"]],
    ["with a long path (bounded)", `https://cdn.example/${"p".repeat(1_000)}`, REQUEST, ["https://cdn.example/ppp", "…"], ["p".repeat(200)]],
    ["not http", "javascript:alert(document.cookie)", REQUEST, ["non-HTTP Location (javascript: URL"], ["alert", "cookie"]],
    ["a data: URL", "data:text/html;base64,PHNjcmlwdD4=", REQUEST, ["non-HTTP Location (data: URL"], ["PHNjcmlwdD4", "base64"]],
    ["not a URL", "http://[::1", REQUEST, ["not a URL"], ["[::1"]],
    ["carrying the key in its path", `https://proxy.example/k/${KEY}/v1`, REQUEST, ["https://proxy.example/k/[REDACTED]/v1"], [KEY]]
  ] as const)("a Location %s", (_, location, url, shown, hidden) => {
    const t0 = performance.now()
    const failure = classifyResponse({
      status: 302,
      headers: location === undefined ? {} : { location },
      provider: "p",
      model: "m",
      url,
      secrets: [apiKey]
    })
    expect(performance.now() - t0).toBeLessThan(200)
    expect(failure.reason).toBe("Redirected")
    for (const part of shown) expect(failure.message).toContain(part)
    for (const part of hidden) expect(failure.message).not.toContain(part)
    expect(failure.message.length).toBeLessThan(600)
  })

  it.prop(
    "the query, fragment and user-info of any http(s) Location never reach the failure",
    [
      fc.constantFrom("http", "https", "HTTP"),
      fc.stringMatching(/^[a-z][a-z0-9]{0,19}(\.[a-z][a-z0-9]{0,19}){0,3}$/),
      fc.array(fc.stringMatching(/^[A-Za-z0-9._~-]{0,20}$/), { maxLength: 4 }),
      fc.stringMatching(/^[A-Za-z0-9]{8,24}$/),
      fc.constantFrom("?", "#", "?x=1&t=", "#a?", "?#"),
      fc.boolean()
    ],
    ([scheme, host, segments, secret, separator, withUser]) => {
      const marker = `zq${secret}`
      const location = `${scheme}://${withUser ? `u:${marker}@` : ""}${host}/${segments.join("/")}${separator}${marker}`
      const failure = classifyResponse({ status: 307, headers: { location }, provider: "p", model: "m" })
      expect(failure.reason).toBe("Redirected")
      expect(failure.message).toContain(`${scheme.toLowerCase()}://${host}/`)
      expect(JSON.stringify(failure)).not.toContain(marker)
    }
  )
})

describe("a provider answering 3xx, over real HTTP", () => {
  it.scoped.each([301, 302, 307, 308])("HTTP %i: one request, HardFailure(Redirected) naming the Location host, not its query", (status) =>
    Effect.gen(function*() {
      const server = yield* serveFixed(status, { location: MOVED }, `Moved: ${MOVED}`)
      const openai = yield* OpenAICompatible.make({ name: "gateway", baseUrl: server.url, apiKey })
      const failure = hard(yield* Effect.flip(openai.generateText(ask("hello"))))
      expect([failure.reason, failure.status, failure.provider, failure.model]).toEqual(["Redirected", status, "gateway", "gpt-4.1-mini"])
      expect(failure.message).toContain("moved.example")
      expect(JSON.stringify(failure)).not.toContain(TOKEN)
      expect(yield* server.received).toHaveLength(1)
    }).pipe(Effect.provide(HttpLive)))

  it.scoped("Gemini: a relative Location is named against the request URL", () =>
    Effect.gen(function*() {
      const server = yield* serveFixed(301, { location: `/v1/models/gemini-2.5-flash:generateContent?key=${TOKEN}` }, "")
      const gemini = yield* Gemini.make({ baseUrl: server.url, apiKey })
      const failure = hard(yield* Effect.flip(gemini.generateText(ask("hello"))))
      expect(failure.reason).toBe("Redirected")
      expect(failure.message).toContain(`${server.url}/v1/models/gemini-2.5-flash:generateContent`)
      expect(failure.message).not.toContain(TOKEN)
    }).pipe(Effect.provide(HttpLive)))

  it.scoped("with FetchHttpClient (which follows redirects unless told not to) the Location is not followed: the key never goes there", () =>
    Effect.gen(function*() {
      const elsewhere = yield* serveJson(200, { candidates: [{ content: { parts: [{ text: "taken" }] }, finishReason: "STOP" }] })
      const server = yield* serveFixed(308, { location: `${elsewhere.url}/v1beta/models/gemini-2.5-flash:generateContent` }, "")
      const gemini = yield* Gemini.make({ baseUrl: server.url, apiKey })
      const failure = hard(yield* Effect.flip(gemini.generateText(ask("hello"))))
      expect([failure.reason, failure.status]).toEqual(["Redirected", 308])
      expect(yield* server.received).toHaveLength(1)
      expect(yield* elsewhere.received).toHaveLength(0)
    }).pipe(Effect.provide(FetchHttpClient.layer)))

  it.scoped("an OpenAI-compatible adapter over FetchHttpClient keeps the caller's own RequestInit and still does not follow", () =>
    Effect.gen(function*() {
      const elsewhere = yield* serveJson(200, {})
      const server = yield* serveFixed(302, { location: `${elsewhere.url}/v1/chat/completions` }, "")
      const openai = yield* OpenAICompatible.make({ baseUrl: server.url, apiKey })
      const failure = hard(yield* Effect.flip(openai.generateText(ask("hello"))))
      expect(failure.reason).toBe("Redirected")
      const received = yield* server.received
      expect(received).toHaveLength(1)
      // the caller's RequestInit headers still apply
      expect(received[0]!.headers["x-from-request-init"]).toBe("yes")
      expect(yield* elsewhere.received).toHaveLength(0)
    }).pipe(
      Effect.provide(FetchHttpClient.layer),
      Effect.provideService(FetchHttpClient.RequestInit, { headers: { "x-from-request-init": "yes" } })
    ))
})

describe("a misconfigured model in a fallback chain", () => {
  const Policies = Layer.mergeAll(
    RetryPolicy.layer({ jitter: "none", maxAttempts: 4 }),
    CircuitBreaker.layer({ consecutiveFailures: 2, minimumCalls: 2 })
  )

  it.scoped("is tried once per call (no retry), skipped to the next model, and counts neither in its breaker nor in its status", () =>
    Effect.gen(function*() {
      const { openai } = yield* startSimulator()
      const server = yield* serveFixed(301, { location: MOVED }, "")
      const misconfigured = yield* OpenAICompatible.make({ name: "old-gateway", baseUrl: server.url, apiKey })
      const client = yield* ResilientClient.make({
        text: [
          { model: "gpt-4.1-mini-old", provider: misconfigured },
          { model: "gpt-4.1-mini", provider: openai }
        ]
      })
      const CALLS = 5
      for (let i = 0; i < CALLS; i++) {
        const served = yield* settle(client.generateText({ messages: [Message.make({ role: "user", content: `call ${i} [sim:ok]` })] }))
        expect([served.model, served.fellBack]).toEqual(["gpt-4.1-mini", true])
        const first = served.attempts.filter((a) => a.model === "gpt-4.1-mini-old")
        expect(first.map((a) => [a.outcome, a.reason, a.status])).toEqual([["failure", "Redirected", 301]])
        expect(first[0]!.message).toContain("moved.example")
        expect(first[0]!.message).not.toContain(TOKEN)
      }
      // one request per call: a redirect is not retried (maxAttempts is 4)
      expect(yield* server.received).toHaveLength(CALLS)
      // a breaker that opens after 2 consecutive failures is still closed, and nothing was counted
      const breakers = yield* CircuitBreaker.CircuitBreakers
      const snapshot = yield* (yield* breakers.get("gpt-4.1-mini-old")).snapshot
      expect([snapshot.state, snapshot.failures, snapshot.consecutiveFailures]).toEqual(["closed", 0, 0])
      const health = (yield* client.status.snapshot).models.find((m) => m.model === "gpt-4.1-mini-old")
      expect([health?.health, health?.breaker]).toEqual(["normal", "closed"])
    }).pipe(Effect.provide(Layer.merge(Policies, HttpLive))))

  it.scoped("alone in its list, the caller gets AllModelsFailed whose attempt names the redirect, after one request", () =>
    Effect.gen(function*() {
      const server = yield* serveFixed(302, { location: MOVED }, "")
      const misconfigured = yield* OpenAICompatible.make({ name: "old-gateway", baseUrl: server.url, apiKey: Redacted.make(KEY) })
      const client = yield* ResilientClient.make({ text: [{ model: "gpt-4.1-mini", provider: misconfigured }] })
      const failure = yield* Effect.flip(settle(client.generateText({ messages: [Message.make({ role: "user", content: "hi" })] })))
      expect(failure._tag).toBe("AllModelsFailed")
      expect(JSON.stringify(failure)).toContain("Redirected")
      expect(JSON.stringify(failure)).not.toContain(TOKEN)
      expect(yield* server.received).toHaveLength(1)
    }).pipe(Effect.provide(Layer.merge(Policies, HttpLive))))
})
