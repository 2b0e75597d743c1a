import { FileSystem, HttpClient } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, TestClock } from "effect"
import type { GenerationFailure } from "../src/Failure.js"
import { GeneratedImage, ImageRequest, ImageResult } from "../src/ImageGeneration.js"
import * as ImageDelivery from "../src/ImageDelivery.js"
import { ModelCapabilities } from "../src/ModelCapabilities.js"
import type { ProviderService } from "../src/Provider.js"
import * as Simulator from "../src/Simulator.js"
import { settle } from "./support/clock.js"
import { HttpLive, KEY, serveFixed, startSimulator } from "./support/simulator.js"

const instant = { medianMs: 0, p95Ms: 0 }

/** Image models with the quirks real ones have: `n > 1` or `response_format` rejected, URLs that expire (no latency unless said). */
const config = Simulator.makeConfig({
  seed: 7,
  timeScale: 1,
  apiKeys: [KEY],
  models: [
    // n > 1 rejected (Qwen Image); URLs unless base64 is asked for
    { id: "qwen-image", vendor: "alibaba", kind: "image", latency: instant, capabilities: { maxImages: 1, defaultImageOutput: "url" } },
    // response_format rejected (GPT Image); base64 only
    { id: "gpt-image-2", vendor: "openai", kind: "image", latency: instant, capabilities: { responseFormat: false, defaultImageOutput: "b64_json", maxImages: 10 } },
    // takes response_format, rewrites prompts, one image per call (DALL·E 3)
    { id: "dall-e-3", vendor: "openai", kind: "image", latency: instant, capabilities: { maxImages: 1, defaultImageOutput: "url", revisesPrompt: true } },
    // a gateway model served as expiring URLs (60 s), two images per call
    { id: "seedream-4.5", vendor: "bytedance", kind: "image", latency: instant, urlTtlSeconds: 60, capabilities: { maxImages: 2, defaultImageOutput: "url", revisesPrompt: true } },
    // answers after 5 s with URLs that expire after 2 s
    { id: "slow-cdn", vendor: "bytedance", kind: "image", latency: { medianMs: 5_000, p95Ms: 5_000 }, urlTtlSeconds: 2, capabilities: { defaultImageOutput: "url" } },
    { id: "gemini-2.5-flash-image", vendor: "google", kind: "image", latency: instant }
  ]
})

const qwen = new ModelCapabilities({ maxImagesPerCall: 1, responseFormat: true, pricePerImage: 0.04 })
const gptImage = new ModelCapabilities({ maxImagesPerCall: 10, outputFormats: ["png", "jpeg", "webp"], defaultOutput: "b64_json", pricePerImage: 0.04 })
const dallE = new ModelCapabilities({ maxImagesPerCall: 1, responseFormat: true, revisesPrompt: true })
/** Described as URL-only: response_format is not sent, so URLs come back and must be downloaded. */
const seedreamUrls = new ModelCapabilities({ maxImagesPerCall: 2, defaultOutput: "url", revisesPrompt: true, pricePerImage: 0.04 })
const gemini = new ModelCapabilities({ maxImagesPerCall: 1, defaultOutput: "b64_json", pricePerImage: 0.039 })

const ask = (model: string, prompt: string, extra: Partial<ConstructorParameters<typeof ImageRequest>[0]> = {}) =>
  ImageRequest.make({ model, prompt, ...extra })

const failureOf = <A, E>(exit: Exit.Exit<A, E>): E => {
  if (Exit.isSuccess(exit)) throw new Error(`expected a failure, got ${String(exit.value)}`)
  const failure = exit.cause._tag === "Fail" ? exit.cause.error : undefined
  if (failure === undefined) throw new Error(`expected a typed failure, got ${String(exit.cause)}`)
  return failure
}

/** The provider, recording every request it is asked (the wire is still the simulator's, over HTTP). */
const recording = (provider: ProviderService, after?: (call: number) => Effect.Effect<void>) => {
  const sent: Array<ImageRequest> = []
  const wrapped: ImageDelivery.ImageProvider = {
    name: provider.name,
    generateImage: (request) => {
      const call = sent.push(request) - 1
      return provider.generateImage(request).pipe(Effect.tap(() => after?.(call) ?? Effect.void))
    }
  }
  return { provider: wrapped, sent }
}

const stateOf = (sim: Simulator.SimulatorShape, model: string) =>
  Effect.map(sim.snapshot, (s) => s.models.find((m) => m.id === model)!)

const PNG = [0x89, 0x50, 0x4e, 0x47]

describe("ImageDelivery: n > 1 on models that take fewer images per call", () => {
  it.scoped("a model with one image per call: n = 3 becomes 3 calls and 3 images in order", () =>
    Effect.gen(function*() {
      const { openai, sim } = yield* startSimulator(config)
      // as sent whole, the model refuses it
      const refused = failureOf(yield* Effect.exit(openai.generateImage(ask("qwen-image", "three kites", { n: 3 }))))
      expect(refused).toMatchObject({ _tag: "HardFailure", reason: "BadRequest", status: 400, param: "n" })

      const { provider, sent } = recording(openai)
      const result = yield* ImageDelivery.generate(provider, ask("qwen-image", "three kites", { n: 3 }), qwen)
      expect(result.calls).toBe(3)
      expect(result.requested).toBe(3)
      expect(result.images.map((image) => image.index)).toEqual([0, 1, 2])
      expect(sent.map((request) => request.n)).toEqual([undefined, undefined, undefined])
      // each image belongs to the call made for its position
      expect(result.images.map((image) => image.requestId)).toEqual(result.requestIds)
      expect(new Set(result.requestIds).size).toBe(3)
      for (const image of result.images) expect([...image.bytes.slice(0, 4)]).toEqual(PNG)
      const state = yield* stateOf(sim, "qwen-image")
      expect(state.requests).toBe(3)
      expect(state.rejected).toBe(1)
    }).pipe(Effect.provide(HttpLive)))

  it.scoped("calls carry at most maxImagesPerCall images and the images keep request order", () =>
    Effect.gen(function*() {
      const { openai, sim } = yield* startSimulator(config)
      const { provider, sent } = recording(openai)
      // the simulator draws image i of a call from (model, prompt, i): calls of 2 + 1 give A, B, A
      const result = yield* ImageDelivery.generate(provider, ask("seedream-4.5", "a lighthouse", { n: 3 }), seedreamUrls)
      expect(sent.map((request) => request.n)).toEqual([2, undefined])
      expect(result.calls).toBe(2)
      const [a, b, c] = result.images.map((image) => Buffer.from(image.bytes).toString("base64"))
      expect(a).not.toBe(b)
      expect(c).toBe(a)
      expect((yield* stateOf(sim, "seedream-4.5")).requests).toBe(2)
    }).pipe(Effect.provide(HttpLive)))

  it.scoped("Gemini returns one image per call: n = 2 becomes two generateContent calls", () =>
    Effect.gen(function*() {
      const { gemini: adapter, sim } = yield* startSimulator(config)
      const refused = failureOf(yield* Effect.exit(adapter.generateImage(ask("gemini-2.5-flash-image", "two foxes", { n: 2 }))))
      expect(refused).toMatchObject({ reason: "BadRequest", param: "n" })
      expect((yield* stateOf(sim, "gemini-2.5-flash-image")).requests).toBe(0)

      const result = yield* ImageDelivery.generate(adapter, ask("gemini-2.5-flash-image", "two foxes", { n: 2 }), gemini)
      expect(result.calls).toBe(2)
      expect(result.images).toHaveLength(2)
      expect(result.images.every((image) => image.source === "b64_json" && image.mimeType === "image/png")).toBe(true)
      expect(result.cost).toBeCloseTo(0.078, 10)
      expect((yield* stateOf(sim, "gemini-2.5-flash-image")).requests).toBe(2)
    }).pipe(Effect.provide(HttpLive)))

  it.scoped("splits run at most `concurrency` calls at once", () =>
    Effect.gen(function*() {
      const { openai } = yield* startSimulator(config)
      let running = 0
      let peak = 0
      const provider: ImageDelivery.ImageProvider = {
        name: openai.name,
        generateImage: (request) =>
          Effect.acquireUseRelease(
            Effect.sync(() => {
              running++
              peak = Math.max(peak, running)
            }),
            () => openai.generateImage(request),
            () => Effect.sync(() => running--)
          )
      }
      const delivery = yield* ImageDelivery.make({ concurrency: 2 })
      const result = yield* delivery.generate(provider, ask("qwen-image", "six kites", { n: 6 }), qwen)
      expect(result.images).toHaveLength(6)
      expect(peak).toBe(2)
    }).pipe(Effect.provide(HttpLive)))
})

describe("ImageDelivery: response_format and output_format by capability", () => {
  it.scoped("a model that rejects response_format gets output_format and no response_format", () =>
    Effect.gen(function*() {
      const { openai, sim } = yield* startSimulator(config)
      // the model does reject the parameter
      const refused = failureOf(yield* Effect.exit(openai.generateImage(ask("gpt-image-2", "a kite", { responseFormat: "b64_json" }))))
      expect(refused).toMatchObject({ reason: "BadRequest", status: 400, param: "response_format" })

      const { provider, sent } = recording(openai)
      const result = yield* ImageDelivery.generate(
        provider,
        ask("gpt-image-2", "a kite", { n: 2, responseFormat: "url", outputFormat: "webp" }),
        gptImage
      )
      expect(sent).toHaveLength(1)
      expect(sent[0]!.responseFormat).toBeUndefined()
      expect(sent[0]!.outputFormat).toBe("webp")
      expect(sent[0]!.n).toBe(2)
      expect(result.images.map((image) => image.source)).toEqual(["b64_json", "b64_json"])
      const state = yield* stateOf(sim, "gpt-image-2")
      expect(state.rejected).toBe(1) // only the direct call above
      expect(state.requests).toBe(1)
    }).pipe(Effect.provide(HttpLive)))

  it.scoped("an output format the model does not list is not sent", () =>
    Effect.gen(function*() {
      const { openai } = yield* startSimulator(config)
      const { provider, sent } = recording(openai)
      yield* ImageDelivery.generate(
        provider,
        ask("gpt-image-2", "a kite", { outputFormat: "webp" }),
        new ModelCapabilities({ maxImagesPerCall: 10, outputFormats: ["png"] })
      )
      expect(sent[0]!.outputFormat).toBeUndefined()
    }).pipe(Effect.provide(HttpLive)))

  it.scoped("a model that takes response_format is asked for base64 (nothing to download) and its revised prompt is surfaced", () =>
    Effect.gen(function*() {
      const { openai } = yield* startSimulator(config)
      const { provider, sent } = recording(openai)
      const result = yield* ImageDelivery.generate(provider, ask("dall-e-3", "a red kite"), dallE)
      expect(sent[0]!.responseFormat).toBe("b64_json")
      expect(result.images[0].source).toBe("b64_json")
      expect(result.images[0].url).toBeUndefined()
      expect(result.images[0].revisedPrompt).toBe("a red kite, highly detailed")
    }).pipe(Effect.provide(HttpLive)))
})

describe("ImageDelivery: URL outputs", () => {
  it.scoped("URL outputs are downloaded to bytes at once, before they expire", () =>
    Effect.gen(function*() {
      const { openai, sim } = yield* startSimulator(config)
      const result = yield* ImageDelivery.generate(openai, ask("seedream-4.5", "a harbour at night", { n: 2 }), seedreamUrls)
      for (const image of result.images) {
        expect(image.source).toBe("url")
        expect(image.url).toMatch(new RegExp(`^${sim.url}/files/img_`))
        expect([...image.bytes.slice(0, 4)]).toEqual(PNG)
        expect(image.mimeType).toBe("image/png")
        expect(image.revisedPrompt).toBe("a harbour at night, highly detailed")
      }
      // a minute later the same URLs are refused: the bytes were the only way to keep the images
      yield* TestClock.adjust("61 seconds")
      const client = yield* HttpClient.HttpClient
      const later = yield* client.get(result.images[0].url!)
      expect(later.status).toBe(403)
    }).pipe(Effect.provide(HttpLive)))

  it.scoped("a URL that expired before the download is a typed failure that keeps the revised prompt and the URL", () =>
    Effect.gen(function*() {
      const { openai } = yield* startSimulator(config)
      const generated = yield* openai.generateImage(ask("seedream-4.5", "a harbour at night"))
      expect(generated.images[0].url).toBeDefined()
      yield* TestClock.adjust("61 seconds")

      const delivery = yield* ImageDelivery.make()
      const failure = failureOf(yield* Effect.exit(delivery.deliver(generated, { pricePerImage: 0.04 })))
      expect(failure._tag).toBe("ImageDeliveryFailure")
      expect(failure.stage).toBe("download")
      expect(failure.image).toBe(0)
      expect(failure.failure).toMatchObject({ _tag: "HardFailure", reason: "NotFound", status: 403, code: "url_expired" })
      expect(failure.message).toContain("image 1 of 1")
      expect(failure.message).toContain("expired")
      expect(failure.undelivered).toHaveLength(1)
      expect(failure.undelivered[0]!.url).toBe(generated.images[0].url)
      expect(failure.undelivered[0]!.revisedPrompt).toBe("a harbour at night, highly detailed")
      expect(failure.delivered).toEqual([])
      // the image was generated, so it was billed
      expect(failure.cost).toBeCloseTo(0.04, 10)
    }).pipe(Effect.provide(HttpLive)))

  it.scoped("an answer slower than its URLs' lifetime fails typed, through generate", () =>
    Effect.gen(function*() {
      const { openai } = yield* startSimulator(config)
      const exit = yield* settle(
        Effect.exit(ImageDelivery.generate(openai, ask("slow-cdn", "a slow kite"), new ModelCapabilities({ pricePerImage: 0.02 }))),
        "1 second"
      )
      const failure = failureOf(exit)
      expect(failure._tag).toBe("ImageDeliveryFailure")
      if (failure._tag !== "ImageDeliveryFailure") return
      expect(failure.stage).toBe("download")
      expect(failure.failure).toMatchObject({ reason: "NotFound", status: 403 })
      expect(failure.cost).toBeCloseTo(0.02, 10)
    }).pipe(Effect.provide(HttpLive)))

  it.scoped("a download that cannot connect is a Network failure (after quick retries)", () =>
    Effect.gen(function*() {
      const delivery = yield* ImageDelivery.make({ downloadRetries: 2 })
      const result = ImageResult.make({
        provider: "gateway",
        model: "seedream-4.5",
        images: [GeneratedImage.make({ url: "http://127.0.0.1:1/files/img_gone.png?X-Amz-Signature=abc123", revisedPrompt: "kept" })]
      })
      const failure = failureOf(yield* settle(Effect.exit(delivery.deliver(result)), "250 millis"))
      expect(failure.failure).toMatchObject({ _tag: "HardFailure", reason: "Network" })
      expect(failure.undelivered[0]!.revisedPrompt).toBe("kept")
      // the pre-signed query string stays out of the message
      expect(failure.message).not.toContain("abc123")
      expect(failure.message).toContain("http://127.0.0.1:1/files/img_gone.png?…")
    }).pipe(Effect.provide(HttpLive)))

  it.scoped("a file server error is retried a few times, then fails classified", () =>
    Effect.gen(function*() {
      const files = yield* serveFixed(502, { "content-type": "text/html" }, "<html><body>502 Bad Gateway</body></html>")
      const delivery = yield* ImageDelivery.make({ downloadRetries: 2 })
      const result = ImageResult.make({
        provider: "gateway",
        model: "seedream-4.5",
        images: [GeneratedImage.make({ url: `${files.url}/files/img_1.png` })]
      })
      const failure = failureOf(yield* settle(Effect.exit(delivery.deliver(result)), "250 millis"))
      expect(failure.failure).toMatchObject({ _tag: "HardFailure", reason: "ServerError", status: 502 })
      expect(yield* files.received).toHaveLength(3)
      // the provider's key is never sent to a file URL
      for (const request of yield* files.received) expect(request.headers["authorization"]).toBeUndefined()
    }).pipe(Effect.provide(HttpLive)))

  it.scoped("a download over the size bound is refused, without retrying", () =>
    Effect.gen(function*() {
      const { openai } = yield* startSimulator(config)
      const failure = failureOf(
        yield* Effect.exit(ImageDelivery.generate(openai, ask("seedream-4.5", "a kite"), seedreamUrls, { maxImageBytes: 10 }))
      )
      expect(failure._tag).toBe("ImageDeliveryFailure")
      if (failure._tag !== "ImageDeliveryFailure") return
      expect(failure.failure).toMatchObject({ reason: "ServerError", code: "image_too_large" })
      expect(failure.undelivered).toHaveLength(1)
    }).pipe(Effect.provide(HttpLive)))
})

describe("ImageDelivery: cost and failures", () => {
  it.scoped("cost is the price per image times the images served", () =>
    Effect.gen(function*() {
      const { openai } = yield* startSimulator(config)
      const result = yield* ImageDelivery.generate(openai, ask("qwen-image", "three kites", { n: 3 }), qwen)
      expect(result.pricePerImage).toBe(0.04)
      expect(result.cost).toBeCloseTo(0.12, 10)
      const unpriced = yield* ImageDelivery.generate(openai, ask("dall-e-3", "a kite", { n: 2 }), dallE)
      expect(unpriced.cost).toBe(0)
      expect(unpriced.pricePerImage).toBeUndefined()
      // token usage is summed over the split calls (1056 output tokens per image)
      expect(unpriced.calls).toBe(2)
      expect(unpriced.usage?.completionTokens).toBe(2 * 1056)
    }).pipe(Effect.provide(HttpLive)))

  it.scoped("an overloaded model costs nothing and fails with the classified 503", () =>
    Effect.gen(function*() {
      const { openai, sim } = yield* startSimulator(config)
      yield* sim.setOverride("qwen-image", "overloaded")
      const failure = failureOf(yield* Effect.exit(
        ImageDelivery.generate(openai, ask("qwen-image", "three kites", { n: 3 }), qwen, { concurrency: 1 })
      ))
      expect(failure._tag).toBe("ImageDeliveryFailure")
      if (failure._tag !== "ImageDeliveryFailure") return
      expect(failure.stage).toBe("generate")
      expect(failure.failure).toMatchObject({ _tag: "HardFailure", reason: "Overloaded", status: 503 })
      expect(failure.cost).toBe(0)
      expect(failure.delivered).toEqual([])
      // no further call is started once one failed
      expect(failure.notStarted).toBe(2)
      expect((yield* stateOf(sim, "qwen-image")).requests).toBe(1)
    }).pipe(Effect.provide(HttpLive)))

  it.scoped("a call failing mid-batch says which image failed and keeps the images already paid for", () =>
    Effect.gen(function*() {
      const { openai, sim } = yield* startSimulator(config)
      // the model goes down right after the first image was served
      const { provider } = recording(openai, (call) => call === 0 ? sim.setOverride("qwen-image", "overloaded") : Effect.void)
      const failure = failureOf(yield* Effect.exit(
        ImageDelivery.generate(provider, ask("qwen-image", "three kites", { n: 3 }), qwen, { concurrency: 1 })
      ))
      expect(failure._tag).toBe("ImageDeliveryFailure")
      if (failure._tag !== "ImageDeliveryFailure") return
      expect(failure.image).toBe(1)
      expect(failure.call).toBe(1)
      expect(failure.calls).toBe(3)
      expect(failure.message).toMatch(/^image 2 of 3 \(call 2 of 3\) failed: HardFailure Overloaded \(HTTP 503\)/)
      expect(failure.delivered).toHaveLength(1)
      expect([...failure.delivered[0]!.bytes.slice(0, 4)]).toEqual(PNG)
      expect(failure.notStarted).toBe(1)
      expect(failure.cost).toBeCloseTo(0.04, 10)

      // for a fallback chain: the same classification, the image named
      const classified: GenerationFailure = ImageDelivery.toGenerationFailure(failure)
      expect(classified).toMatchObject({ _tag: "HardFailure", reason: "Overloaded", status: 503, model: "qwen-image" })
      expect(classified.message).toMatch(/^image 2 \(call 2 of 3\): /)
    }).pipe(Effect.provide(HttpLive)))

  it.scoped("an invalid request fails typed before anything is sent", () =>
    Effect.gen(function*() {
      const { openai, sim } = yield* startSimulator(config)
      const request = { ...ask("qwen-image", "kites"), n: 50 } as ImageRequest
      const failure = failureOf(yield* Effect.exit(ImageDelivery.generate(openai, request, qwen)))
      expect(failure._tag).toBe("ImageDeliveryFailure")
      if (failure._tag !== "ImageDeliveryFailure") return
      expect(failure.failure).toMatchObject({ reason: "BadRequest", param: "n" })
      expect((yield* stateOf(sim, "qwen-image")).requests).toBe(0)
    }).pipe(Effect.provide(HttpLive)))

  it.effect.each([
    [{ concurrency: 0 }, "concurrency"],
    [{ maxImageBytes: -1 }, "maxImageBytes"],
    [{ downloadRetries: 1.5 }, "downloadRetries"],
    [{ downloadTimeout: "soon" as never }, "downloadTimeout"]
  ] as const)("invalid option %j is refused, naming the option", ([options, field]) =>
    Effect.gen(function*() {
      const failure = failureOf(yield* Effect.exit(ImageDelivery.make(options)))
      expect(failure).toMatchObject({ _tag: "InvalidImageDeliveryOptions", field })
    }).pipe(Effect.provide(HttpLive)))
})

describe("ImageDelivery.saveTo", () => {
  it.scoped("writes each image as <prefix>-<n>.<ext> and says where", () =>
    Effect.gen(function*() {
      const { openai } = yield* startSimulator(config)
      const fs = yield* FileSystem.FileSystem
      const dir = yield* fs.makeTempDirectoryScoped()
      const result = yield* ImageDelivery.generate(openai, ask("dall-e-3", "a kite"), dallE)
      const saved = yield* ImageDelivery.saveTo(`${dir}/out`, { prefix: "kite" })(result)
      expect(saved.map((s) => s.path)).toEqual([`${dir}/out/kite-1.png`])
      expect(saved[0]!.revisedPrompt).toBe("a kite, highly detailed")
      expect([...(yield* fs.readFile(saved[0]!.path))]).toEqual([...result.images[0].bytes])

      const refused = failureOf(yield* Effect.exit(ImageDelivery.saveTo(dir, { prefix: "../escape" })(result)))
      expect(refused._tag).toBe("ImageSaveFailed")
    }).pipe(Effect.provide(HttpLive), Effect.provide(NodeContext.layer)))
})
