/**
 * Image generation: the normalised request and result.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import { Usage } from "./Usage.js"

/**
 * An image generation request.
 *
 * @example
 * ```ts
 * import { ImageGeneration } from "effect-ai-resilience"
 *
 * const request = ImageGeneration.ImageRequest.make({
 *   model: "gemini-3-pro-image-preview",
 *   prompt: "A lighthouse at dusk, watercolour",
 *   size: "1024x1024"
 * })
 * ```
 *
 * @since 0.1.0
 */
export class ImageRequest extends Schema.Class<ImageRequest>("effect-ai-resilience/ImageRequest")({
  model: Schema.NonEmptyTrimmedString,
  prompt: Schema.NonEmptyString,
  /** How many images (some models accept only 1, e.g. Qwen Image). */
  n: Schema.optional(Schema.Int.pipe(Schema.between(1, 10))),
  size: Schema.optional(Schema.String),
  quality: Schema.optional(Schema.String),
  /** `response_format` (DALL·E style): a URL or base64 in the body. */
  responseFormat: Schema.optional(Schema.Literal("url", "b64_json")),
  /** `output_format` (GPT Image style): the encoding of the base64 image. */
  outputFormat: Schema.optional(Schema.Literal("png", "jpeg", "webp"))
}) {}

/**
 * One generated image: a URL to download (providers' image URLs expire, e.g. after an hour) or the bytes.
 *
 * @since 0.1.0
 */
export class GeneratedImage extends Schema.Class<GeneratedImage>("effect-ai-resilience/GeneratedImage")({
  url: Schema.optional(Schema.String),
  bytes: Schema.optional(Schema.Uint8ArrayFromSelf),
  mimeType: Schema.optional(Schema.String),
  /** The prompt as the provider rewrote it, if it did. */
  revisedPrompt: Schema.optional(Schema.String)
}) {}

/**
 * A usable image generation result (at least one image).
 *
 * @since 0.1.0
 */
export class ImageResult extends Schema.Class<ImageResult>("effect-ai-resilience/ImageResult")({
  provider: Schema.String,
  model: Schema.String,
  images: Schema.NonEmptyArray(GeneratedImage),
  usage: Schema.optional(Usage),
  requestId: Schema.optional(Schema.String)
}) {}
