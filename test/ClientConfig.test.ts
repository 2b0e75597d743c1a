import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Duration, Effect, Exit, Fiber } from "effect"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as ClientConfig from "../src/ClientConfig.js"
import { HttpLive } from "./support/simulator.js"

const KEY = "sk-config-test-key-5f2a9c"
const env = (vars: Record<string, string>) => Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(vars))))

const gemini = { model: "gemini-3-pro-image-preview", provider: "gemini", apiKeyEnv: "GEMINI_API_KEY", vendor: "google", price: 0.134 }
const gateway = { model: "seedream-4.5", provider: "openai-compatible", baseUrl: "http://127.0.0.1:9/v1", apiKeyEnv: "GATEWAY_KEY", price: 0.04 }

const errorOf = (u: unknown) => Effect.flip(ClientConfig.decode(u, "models.json")).pipe(Effect.map((e) => e.message))

describe("ClientConfig", () => {
  it.effect("a valid file decodes: lists in priority order, durations as text, defaults filled in", () =>
    Effect.gen(function*() {
      const file = yield* ClientConfig.decode({
        image: [gemini, gateway],
        fallback: { attemptTimeout: "90 seconds", deadline: "5 minutes" },
        retry: { maxAttempts: 3 }
      })
      expect(file.image.map((m) => m.model)).toEqual(["gemini-3-pro-image-preview", "seedream-4.5"])
      expect(file.text).toEqual([])
      expect(Duration.toSeconds(file.fallback!.deadline!)).toBe(300)
      expect(ClientConfig.retryOptions(file)).toEqual({ maxAttempts: 3 })
    }))

  it.effect("each mistake is named by its field", () =>
    Effect.gen(function*() {
      const message = yield* errorOf({
        image: [
          { ...gemini, provider: "anthropic-ish" },
          { ...gateway, baseUrl: undefined },
          { ...gateway, apiKeyEnv: "not a var", price: -1 }
        ],
        fallback: { deadline: "soon" },
        retyr: { maxAttempts: 3 }
      })
      expect(message).toContain("models.json is not a valid client config")
      expect(message).toContain(`image[0].provider: Expected "openai-compatible" | "gemini", actual "anthropic-ish"`)
      expect(message).toContain(`image[1].baseUrl: is required for provider "openai-compatible"`)
      expect(message).toContain(`image[2].apiKeyEnv: Expected the name of an environment variable`)
      expect(message).toMatch(/image\[2\]\.price: Expected a non-negative number/)
      expect(message).toContain(`fallback.deadline: Expected a duration such as "30 seconds"`)
      expect(message).toMatch(/retyr: .*is unexpected/)
      const caps = yield* errorOf({ image: [{ ...gemini, capabilities: { maxImagesPerCall: 0 } }] })
      expect(caps).toContain("image[0].capabilities.maxImagesPerCall:")
    }))

  it.effect("an empty model list and negative durations are refused", () =>
    Effect.gen(function*() {
      expect(yield* errorOf({ image: [] })).toContain("the file lists no models")
      expect(yield* errorOf({ image: [gemini], fallback: { attemptTimeout: "-5 seconds" } })).toContain("fallback.attemptTimeout:")
    }))

  it.effect("a file that is not JSON names the file", () =>
    Effect.gen(function*() {
      const path = join(mkdtempSync(join(tmpdir(), "ear-config-")), "models.json")
      writeFileSync(path, "{ \"image\": [ ")
      const error = yield* Effect.flip(ClientConfig.load(path))
      expect(error.message).toMatch(/models\.json is not valid JSON/)
    }).pipe(Effect.provide(NodeContext.layer)))

  it.effect("building reads each key from its variable; a missing variable names the field and the variable", () =>
    Effect.gen(function*() {
      const file = yield* ClientConfig.decode({ image: [gemini, gateway], text: [{ ...gateway, model: "gpt-4.1-mini" }] })
      const missing = yield* Effect.flip(ClientConfig.build(file, "models.json").pipe(env({ GEMINI_API_KEY: KEY })))
      expect(missing.message).toBe(
        "models.json: text[0].apiKeyEnv: environment variable GATEWAY_KEY is not set (it must hold the key for gpt-4.1-mini)"
      )
      const built = yield* ClientConfig.build(file).pipe(env({ GEMINI_API_KEY: KEY, GATEWAY_KEY: KEY }))
      expect(built.image?.map((r) => [r.model, r.provider.name, r.price])).toEqual([
        ["gemini-3-pro-image-preview", "gemini", 0.134],
        ["seedream-4.5", "127.0.0.1:9", 0.04]
      ])
      // one adapter per provider, base URL and key: the text model shares the gateway's
      expect(built.text?.[0]?.provider).toBe(built.image?.[1]?.provider)
      expect(JSON.stringify(built)).not.toContain(KEY)
    }).pipe(Effect.provide(HttpLive)))

  it.effect("thousands of bad entries: the first 20 problems, each named, then how many entries were left out", () =>
    Effect.gen(function*() {
      const message = yield* errorOf({ image: [gemini, ...Array.from({ length: 3000 }, () => ({ ...gemini, price: -1 }))] })
      const lines = message.split("\n")
      expect(lines[0]).toBe("models.json is not a valid client config:")
      expect(lines.slice(1, 21).map((line) => /^ {2}image\[(\d+)\]\.price: Expected a non-negative number/.exec(line)?.[1])).toEqual(
        Array.from({ length: 20 }, (_, i) => String(i + 1))
      )
      expect(lines.slice(21)).toEqual(["  … and 2980 more entries with problems not listed"])
    }))

  it.effect("a large valid file decodes in full, in order", () =>
    Effect.gen(function*() {
      const file = yield* ClientConfig.decode({ text: Array.from({ length: 10_000 }, (_, i) => ({ ...gateway, model: `m-${i}` })) })
      expect(file.text).toHaveLength(10_000)
      expect(file.text[9_999]?.model).toBe("m-9999")
    }))

  it.effect("an object nested too deep is refused with the place named, before decoding (no stack overflow)", () =>
    Effect.gen(function*() {
      const root: Record<string, unknown> = {}
      let inner = root
      for (let i = 0; i < 100_000; i++) {
        const next: Record<string, unknown> = {}
        inner.deeper = next
        inner = next
      }
      const message = yield* errorOf({ image: [{ ...gemini, capabilities: root }] })
      expect(message).toBe("models.json is not a valid client config:\n  image[0].capabilities.deeper.deeper.deeper.deeper.deeper…: nested deeper than 64 levels")
    }))

  it.live("checking a huge list lets the event loop run (so a signal is handled) and can be interrupted", () =>
    Effect.gen(function*() {
      const huge = { text: Array.from({ length: 50_000 }, () => 0) }
      // a timer due at once fires while the list is checked, not after
      let fired = false
      const timer = setTimeout(() => {
        fired = true
      }, 0)
      const firedBeforeTheEnd = yield* Effect.flip(ClientConfig.decode(huge)).pipe(Effect.map(() => fired))
      clearTimeout(timer)
      expect(firedBeforeTheEnd).toBe(true)
      const fiber = yield* Effect.fork(ClientConfig.decode(huge))
      expect(Exit.isInterrupted(yield* Fiber.interrupt(fiber))).toBe(true)
    }))
})
