/**
 * What an image model accepts (models differ, and reject what they do not take): how many images one call may ask
 * for, whether it takes `response_format` or `output_format`, what it returns
 * by default, whether it rewrites prompts, and its price per image.
 *
 * A Schema, so the same description decodes from the JSON config file with
 * errors that name the field (`image[2].capabilities.maxImagesPerCall: …`).
 * Every field has a default chosen so that a model nobody described is never
 * sent a parameter it might reject: one image per call, no `response_format`,
 * no `output_format`.
 *
 * | field | default | source |
 * |---|---|---|
 * | `maxImagesPerCall` | 1 | some models reject `n > 1` (Qwen Image): one image per call unless told |
 * | `responseFormat` | `false` | some models reject `response_format` (GPT Image): not sent unless told |
 * | `outputFormats` | `[]` (never send `output_format`) | |
 * | `defaultOutput` | `"url"` | OpenAI Images API default |
 * | `revisesPrompt` | `false` | |
 * | `pricePerImage` | none (cost not reported) | |
 *
 * @since 0.1.0
 */
import { Effect, Either, Schema } from "effect"
import { formatParseError } from "./internal/formatError.js"

/**
 * An `output_format` value (GPT Image style: the encoding of the base64 image).
 *
 * @since 0.1.0
 */
export const OutputFormat = Schema.Literal("png", "jpeg", "webp")
/** @since 0.1.0 */
export type OutputFormat = typeof OutputFormat.Type

/**
 * How an image comes back in the body: a URL to download or base64 bytes.
 *
 * @since 0.1.0
 */
export const ImageOutput = Schema.Literal("url", "b64_json")
/** @since 0.1.0 */
export type ImageOutput = typeof ImageOutput.Type

/**
 * What an image model accepts and how it answers.
 *
 * @example
 * ```ts
 * import { ModelCapabilities } from "effect-ai-resilience"
 *
 * // GPT Image: up to 10 images per call, rejects response_format, base64 only
 * const gptImage = new ModelCapabilities.ModelCapabilities({
 *   maxImagesPerCall: 10,
 *   outputFormats: ["png", "jpeg", "webp"],
 *   defaultOutput: "b64_json",
 *   pricePerImage: 0.04
 * })
 * ```
 *
 * @since 0.1.0
 */
export class ModelCapabilities extends Schema.Class<ModelCapabilities>("effect-ai-resilience/ModelCapabilities")({
  /** Largest `n` one call may ask for; a larger request is split into several calls (1 = one image per call). */
  maxImagesPerCall: Schema.optionalWith(
    Schema.Int.annotations({ message: (issue) => `Expected a whole number of images per call, actual ${String(issue.actual)}` }).pipe(
      Schema.positive({ message: (issue) => `Expected at least 1 image per call, actual ${String(issue.actual)}` })
    ),
    { default: () => 1 }
  ),
  /**
   * Whether the model takes `response_format` (`url` / `b64_json`). When it
   * does, base64 is asked for (no download, nothing to expire); when it does
   * not, the parameter is never sent.
   */
  responseFormat: Schema.optionalWith(Schema.Boolean, { default: () => false }),
  /** The `output_format` values the model takes (GPT Image: png, jpeg, webp); empty = never send it. */
  outputFormats: Schema.optionalWith(Schema.Array(OutputFormat), { default: () => [] }),
  /** What the model returns when `response_format` is not sent (tells whether outputs will need a download). */
  defaultOutput: Schema.optionalWith(ImageOutput, { default: () => "url" as const }),
  /** Whether the model rewrites prompts (`revised_prompt`); revised prompts are surfaced whenever present. */
  revisesPrompt: Schema.optionalWith(Schema.Boolean, { default: () => false }),
  /** Price of one generated image, for cost reports. A failed call costs nothing (a 503 is not billed). */
  pricePerImage: Schema.optional(
    Schema.Number.pipe(
      Schema.finite({ message: () => "Expected a finite price" }),
      Schema.nonNegative({ message: (issue) => `Expected a price of 0 or more, actual ${String(issue.actual)}` })
    )
  )
}) {}

/**
 * The JSON form of {@link ModelCapabilities} (every field optional).
 *
 * @since 0.1.0
 */
export type ModelCapabilitiesInput = typeof ModelCapabilities.Encoded

/**
 * The capabilities of a model nobody described: every default (one image per
 * call, no `response_format`, no `output_format`).
 *
 * @since 0.1.0
 */
export const conservative: ModelCapabilities = new ModelCapabilities({})

/**
 * A capability description that cannot be used. `message` names each bad
 * field (`maxImagesPerCall: Expected at least 1 image per call, actual 0`).
 *
 * @since 0.1.0
 */
export class InvalidModelCapabilities extends Schema.TaggedError<InvalidModelCapabilities>(
  "effect-ai-resilience/InvalidModelCapabilities"
)("InvalidModelCapabilities", { message: Schema.String }) {}

const decodeOptions = { errors: "all", onExcessProperty: "error" } as const

const invalid = (source: string, detail: string) =>
  new InvalidModelCapabilities({ message: `${source} are not valid model capabilities:\n${detail.replace(/^/gm, "  ")}` })

const decodeWith = (u: unknown, source: string): Either.Either<ModelCapabilities, InvalidModelCapabilities> =>
  typeof u !== "object" || u === null || Array.isArray(u)
    ? Either.left(invalid(source, `(root): Expected an object such as {"maxImagesPerCall": 4}, actual ${u === null ? "null" : Array.isArray(u) ? "an array" : JSON.stringify(u)}`))
    : Either.mapLeft(Schema.decodeUnknownEither(ModelCapabilities)(u, decodeOptions), (error) => invalid(source, formatParseError(error)))

/**
 * Decode capabilities from parsed JSON, filling in defaults. Unknown fields
 * are errors (a typo such as `maxImages` must not silently mean "1").
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { ModelCapabilities } from "effect-ai-resilience"
 *
 * const program = ModelCapabilities.decode(JSON.parse('{"maxImagesPerCall": 4, "pricePerImage": 0.03}'))
 * // Effect<ModelCapabilities, InvalidModelCapabilities>
 * ```
 *
 * @since 0.1.0
 */
export const decode = (u: unknown, source = "the capabilities"): Effect.Effect<ModelCapabilities, InvalidModelCapabilities> =>
  Effect.suspend(() => decodeWith(u, source))

/**
 * {@link decode} as an `Either`, for synchronous callers.
 *
 * @since 0.1.0
 */
export const decodeEither = (u: unknown, source = "the capabilities"): Either.Either<ModelCapabilities, InvalidModelCapabilities> =>
  decodeWith(u, source)
