/**
 * Asynchronous video generation: submit a task, then poll it (a video takes minutes).
 *
 * Vendors name task states differently (`succeeded` vs `succeed` vs
 * `SUCCEEDED`); {@link VideoStatus} is the normalised set and
 * {@link normalizeStatus} maps every known dialect onto it.
 *
 * @since 0.1.0
 */
import { Option, Schema } from "effect"
import { HardFailure, SoftFailure } from "./Failure.js"

/**
 * A video generation request.
 *
 * @since 0.1.0
 */
export class VideoRequest extends Schema.Class<VideoRequest>("effect-ai-resilience/VideoRequest")({
  model: Schema.NonEmptyTrimmedString,
  prompt: Schema.NonEmptyString,
  /** e.g. `"1280x720"`. */
  size: Schema.optional(Schema.String),
  /** Clip length in seconds. */
  seconds: Schema.optional(Schema.Int.pipe(Schema.positive()))
}) {}

/**
 * Normalised task state.
 *
 * @since 0.1.0
 */
export const VideoStatus = Schema.Literal("queued", "running", "succeeded", "failed", "cancelled")
/** @since 0.1.0 */
export type VideoStatus = typeof VideoStatus.Type

const statusByDialect: Readonly<Record<string, VideoStatus>> = {
  // OpenAI-like
  queued: "queued",
  in_progress: "running",
  completed: "succeeded",
  failed: "failed",
  cancelled: "cancelled",
  canceled: "cancelled",
  // Kling-like
  submitted: "queued",
  processing: "running",
  succeed: "succeeded",
  // Runway-like (upper case) and Veo
  pending: "queued",
  throttled: "queued",
  running: "running",
  succeeded: "succeeded"
}

/**
 * Map a vendor's task status onto {@link VideoStatus}, case-insensitively.
 *
 * @example
 * ```ts
 * import { VideoGeneration } from "effect-ai-resilience"
 *
 * VideoGeneration.normalizeStatus("succeed")   // Option.some("succeeded") (Kling)
 * VideoGeneration.normalizeStatus("THROTTLED") // Option.some("queued") (Runway)
 * ```
 *
 * @since 0.1.0
 */
export const normalizeStatus = (raw: string): Option.Option<VideoStatus> => {
  const key = raw.trim().toLowerCase()
  // own keys only: "constructor" or "__proto__" are not statuses
  return Object.hasOwn(statusByDialect, key) ? Option.fromNullable(statusByDialect[key]) : Option.none()
}

/**
 * Is the task finished, one way or the other?
 *
 * @since 0.1.0
 */
export const isTerminal = (status: VideoStatus): boolean =>
  status === "succeeded" || status === "failed" || status === "cancelled"

/**
 * A video task as last seen.
 *
 * @since 0.1.0
 */
export class VideoTask extends Schema.Class<VideoTask>("effect-ai-resilience/VideoTask")({
  provider: Schema.String,
  model: Schema.String,
  id: Schema.String,
  status: VideoStatus,
  /** The status string exactly as the vendor sent it. */
  rawStatus: Schema.String,
  /** Percent complete, 0–100, when the vendor reports it. */
  progress: Schema.optional(Schema.Number),
  /** Where to download the finished video (expires: download at once). */
  videoUrl: Schema.optional(Schema.String),
  /** Why a failed/cancelled task stopped (often empty when filtered). */
  error: Schema.optional(Schema.Struct({ code: Schema.optional(Schema.String), message: Schema.String })),
  requestId: Schema.optional(Schema.String)
}) {}

/**
 * Vendors' words for a task stopped by a safety system: OpenAI
 * `moderation_blocked`, Runway `SAFETY.INPUT.TEXT`, Kling "risk control".
 */
const filtered = /moderation|safety|risk control|content policy|prohibited|filtered|sensitive/i

/**
 * The classified failure of a task that ended `failed` or `cancelled`
 * (`None` for any other status): `SoftFailure("ContentFiltered")` when the
 * vendor says a safety system stopped it, otherwise `HardFailure("ServerError")`
 * (retryable: the render failed on the vendor's side). A person gets the task
 * id, the vendor's status and its error in the message.
 *
 * @example
 * ```ts
 * import { Option } from "effect"
 * import { VideoGeneration } from "effect-ai-resilience"
 *
 * declare const task: VideoGeneration.VideoTask
 * const failure = VideoGeneration.failureOf(task) // Option<SoftFailure | HardFailure>
 * ```
 *
 * @since 0.1.0
 */
export const failureOf = (task: VideoTask): Option.Option<SoftFailure | HardFailure> => {
  if (task.status !== "failed" && task.status !== "cancelled") return Option.none()
  const detail = task.error === undefined ? "no detail" : `${task.error.code === undefined ? "" : `${task.error.code}: `}${task.error.message}`
  const message = `video task ${task.id} ended ${task.rawStatus} (${detail})`
  const common = {
    provider: task.provider,
    model: task.model,
    message,
    ...(task.error?.code === undefined ? {} : { code: task.error.code }),
    ...(task.requestId === undefined ? {} : { requestId: task.requestId })
  }
  if (filtered.test(`${task.error?.code ?? ""} ${task.error?.message ?? ""}`)) {
    return Option.some(new SoftFailure({ reason: "ContentFiltered", ...common, finishReason: task.rawStatus }))
  }
  return Option.some(new HardFailure({ reason: "ServerError", ...common }))
}
