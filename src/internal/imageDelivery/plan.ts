/**
 * Splitting an image request into the calls a model accepts, and choosing
 * `response_format` / `output_format` by its capabilities (a model rejects a parameter it does not take).
 *
 * @internal
 */
import { ImageRequest } from "../../ImageGeneration.js"
import type { ModelCapabilities } from "../../ModelCapabilities.js"

/** One call of a split request. @internal */
export interface PlannedCall {
  /** 0-based position of the call. */
  readonly call: number
  /** 0-based position (in the whole request) of the first image this call asks for. */
  readonly firstImage: number
  /** How many images this call asks for. */
  readonly count: number
  /** The request as sent: `n`, `response_format` and `output_format` chosen by capability. */
  readonly request: ImageRequest
}

/**
 * The calls that serve `request` on a model with `capabilities`, in order.
 *
 * - `n` is split into calls of at most `maxImagesPerCall` images; a call of
 *   one image does not send `n` at all (some models reject the parameter).
 * - `response_format: "b64_json"` is sent only to models that take it (the
 *   bytes come in the body: nothing to download, nothing to expire); the
 *   caller's own `responseFormat` is never forwarded.
 * - `output_format` is sent only when the caller asked for a format the model
 *   lists; otherwise the model's native format comes back (see `mimeType`).
 *
 * @internal
 */
export const planCalls = (request: ImageRequest, capabilities: ModelCapabilities): ReadonlyArray<PlannedCall> => {
  const total = request.n ?? 1
  const perCall = Math.max(1, Math.min(capabilities.maxImagesPerCall, total))
  const outputFormat = request.outputFormat !== undefined && capabilities.outputFormats.includes(request.outputFormat)
    ? request.outputFormat
    : undefined
  const calls: Array<PlannedCall> = []
  for (let firstImage = 0, call = 0; firstImage < total; firstImage += perCall, call++) {
    const count = Math.min(perCall, total - firstImage)
    calls.push({
      call,
      firstImage,
      count,
      request: ImageRequest.make({
        model: request.model,
        prompt: request.prompt,
        ...(count > 1 ? { n: count } : {}),
        ...(request.size === undefined ? {} : { size: request.size }),
        ...(request.quality === undefined ? {} : { quality: request.quality }),
        ...(capabilities.responseFormat ? { responseFormat: "b64_json" as const } : {}),
        ...(outputFormat === undefined ? {} : { outputFormat })
      })
    })
  }
  return calls
}
