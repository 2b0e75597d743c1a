import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, ParseResult, Schema } from "effect"
import * as ModelCapabilities from "../src/ModelCapabilities.js"

const messageOf = (u: unknown, source?: string): string => {
  const decoded = ModelCapabilities.decodeEither(u, source)
  if (Either.isRight(decoded)) throw new Error(`expected a decode error, got ${JSON.stringify(decoded.right)}`)
  return decoded.left.message
}

describe("ModelCapabilities", () => {
  it("an empty description gets the conservative defaults: one image per call, no response_format, no output_format", () => {
    const caps = Either.getOrThrow(ModelCapabilities.decodeEither({}))
    expect(caps.maxImagesPerCall).toBe(1)
    expect(caps.responseFormat).toBe(false)
    expect(caps.outputFormats).toEqual([])
    expect(caps.defaultOutput).toBe("url")
    expect(caps.revisesPrompt).toBe(false)
    expect(caps.pricePerImage).toBeUndefined()
    expect(caps).toEqual(ModelCapabilities.conservative)
  })

  it.effect("decodes a full description from JSON text", () =>
    Effect.gen(function*() {
      const caps = yield* ModelCapabilities.decode(JSON.parse(
        `{"maxImagesPerCall": 10, "responseFormat": false, "outputFormats": ["png", "webp"], "defaultOutput": "b64_json", "revisesPrompt": true, "pricePerImage": 0.04}`
      ))
      expect(caps).toBeInstanceOf(ModelCapabilities.ModelCapabilities)
      expect(caps.maxImagesPerCall).toBe(10)
      expect(caps.outputFormats).toEqual(["png", "webp"])
      expect(caps.defaultOutput).toBe("b64_json")
      expect(caps.revisesPrompt).toBe(true)
      expect(caps.pricePerImage).toBe(0.04)
    }))

  it.each([
    [{ maxImagesPerCall: 0 }, "maxImagesPerCall: Expected at least 1 image per call, actual 0"],
    [{ maxImagesPerCall: 1.5 }, "maxImagesPerCall: Expected a whole number of images per call, actual 1.5"],
    [{ maxImagesPerCall: "4" }, "maxImagesPerCall: Expected number, actual \"4\""],
    [{ responseFormat: "yes" }, "responseFormat: Expected boolean, actual \"yes\""],
    [{ outputFormats: ["png", "gif"] }, "outputFormats[1]: Expected \"png\" | \"jpeg\" | \"webp\", actual \"gif\""],
    [{ defaultOutput: "file" }, "defaultOutput: Expected \"url\" | \"b64_json\", actual \"file\""],
    [{ pricePerImage: -0.01 }, "pricePerImage: Expected a price of 0 or more, actual -0.01"],
    [{ maxImages: 2 }, "maxImages: is unexpected"],
    [null, "(root): Expected an object"],
    [[1], "(root): Expected an object"]
  ] as const)("%j is refused with an error naming the field", (input, expected) => {
    expect(messageOf(input)).toContain(expected)
  })

  it("every bad field is reported at once, with the source named", () => {
    const message = messageOf({ maxImagesPerCall: 0, defaultOutput: "file", pricePerImage: "free" }, "image[2].capabilities")
    expect(message).toMatch(/^image\[2\]\.capabilities are not valid model capabilities:/)
    expect(message).toContain("maxImagesPerCall:")
    expect(message).toContain("defaultOutput:")
    expect(message).toContain("pricePerImage:")
  })

  it("the Schema embeds in a larger config, where errors carry the whole path", () => {
    const Entry = Schema.Struct({ model: Schema.String, capabilities: Schema.optional(ModelCapabilities.ModelCapabilities) })
    const decoded = Schema.decodeUnknownEither(Schema.Array(Entry))([
      { model: "gpt-image-1.5", capabilities: { maxImagesPerCall: 10 } },
      { model: "qwen-image", capabilities: { maxImagesPerCall: -1 } }
    ], { errors: "all" })
    if (Either.isRight(decoded)) throw new Error("expected a decode error")
    const issues = ParseResult.ArrayFormatter.formatErrorSync(decoded.left)
    expect(issues).toContainEqual(
      expect.objectContaining({ path: [1, "capabilities", "maxImagesPerCall"], message: "Expected at least 1 image per call, actual -1" })
    )
    expect(issues.every((issue) => issue.path[0] === 1)).toBe(true)
    const ok = Either.getOrThrow(Schema.decodeUnknownEither(Entry)({ model: "m", capabilities: {} }))
    expect(ok.capabilities?.maxImagesPerCall).toBe(1)
  })

  it("encodes back to the JSON form", () => {
    const caps = new ModelCapabilities.ModelCapabilities({ maxImagesPerCall: 4, pricePerImage: 0.03 })
    expect(Schema.encodeSync(ModelCapabilities.ModelCapabilities)(caps)).toEqual({
      maxImagesPerCall: 4,
      responseFormat: false,
      outputFormats: [],
      defaultOutput: "url",
      revisesPrompt: false,
      pricePerImage: 0.03
    })
  })
})
