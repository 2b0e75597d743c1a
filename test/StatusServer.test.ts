import { HttpClient } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Queue, Stream } from "effect"
import * as CircuitBreaker from "../src/CircuitBreaker.js"
import * as ModelStatus from "../src/ModelStatus.js"
import * as StatusServer from "../src/StatusServer.js"
import { ioTurn } from "./support/clock.js"
import { HttpLive } from "./support/simulator.js"

const lists = { image: [{ model: "gemini-3-pro-image-preview", vendor: "google" }, { model: "<img src=x onerror=alert(1)>", vendor: "bytedance" }] }

const serve = Effect.gen(function*() {
  const status = yield* ModelStatus.make({ lists })
  const server = yield* StatusServer.make().pipe(Effect.provideService(ModelStatus.ModelStatus, status))
  return { status, server }
})

describe("StatusServer", () => {
  it.scoped("GET /status is the snapshot as JSON", () =>
    Effect.gen(function*() {
      const { server, status } = yield* serve
      for (let i = 0; i < 3; i++) yield* status.record({ model: "gemini-3-pro-image-preview", outcome: "failure", latencyMs: 1, category: "hard", reason: "Overloaded" })
      const body = yield* HttpClient.get(`${server.url}/status`).pipe(Effect.flatMap((r) => r.json))
      expect(body).toMatchObject({ models: [{ model: "gemini-3-pro-image-preview", health: "unavailable" }, { health: "normal" }] })
    }).pipe(Effect.provide([CircuitBreaker.layer(), HttpLive])))

  it.scoped("GET /status/events sends the snapshot at once and again on every change", () =>
    Effect.gen(function*() {
      const { server, status } = yield* serve
      const response = yield* HttpClient.get(`${server.url}/status/events`)
      expect(response.headers["content-type"]).toMatch(/^text\/event-stream/)
      const received = yield* Queue.unbounded<ModelStatus.StatusSnapshot>()
      yield* response.stream.pipe(
        Stream.decodeText(),
        Stream.mapConcat((chunk) => chunk.split("\n\n").filter((e) => e.startsWith("data: "))),
        Stream.runForEach((e) => Queue.offer(received, JSON.parse(e.slice(6)) as ModelStatus.StatusSnapshot)),
        Effect.forkScoped
      )
      const first = yield* Queue.take(received)
      expect(first.models[0]).toMatchObject({ model: "gemini-3-pro-image-preview", health: "normal" })
      // failures until the model turns unavailable; the change must arrive as an event
      let pushed: ModelStatus.StatusSnapshot | undefined
      for (let i = 0; i < 50 && pushed === undefined; i++) {
        yield* status.record({ model: "gemini-3-pro-image-preview", outcome: "failure", latencyMs: 1, category: "hard", reason: "Overloaded" })
        yield* ioTurn
        const next = yield* Queue.poll(received)
        if (next._tag === "Some" && next.value.models[0]?.health === "unavailable") pushed = next.value
      }
      expect(pushed?.models[0]).toMatchObject({ health: "unavailable", reason: expect.stringMatching(/consecutive failures/) })
    }).pipe(Effect.provide([CircuitBreaker.layer(), HttpLive])))

  it.scoped("GET / is a page with a row per model, coloured by health, every name escaped", () =>
    Effect.gen(function*() {
      const { server } = yield* serve
      const html = yield* HttpClient.get(`${server.url}/`).pipe(Effect.flatMap((r) => r.text))
      expect(html).toContain(`<tr data-model="gemini-3-pro-image-preview" data-health="normal">`)
      expect(html).toContain("&lt;img src=x onerror=alert(1)&gt;")
      expect(html).not.toContain("<img src=x")
      expect(html).toMatch(/\.badge\.unavailable\{background:rgb\(220,38,38\)\}/)
    }).pipe(Effect.provide([CircuitBreaker.layer(), HttpLive])))

  it.scoped("an unknown path is a 404", () =>
    Effect.gen(function*() {
      const { server } = yield* serve
      const response = yield* HttpClient.get(`${server.url}/nope`)
      expect(response.status).toBe(404)
    }).pipe(Effect.provide([CircuitBreaker.layer(), HttpLive])))
})
