/**
 * Asynchronous video generation: submit a task, then poll it (SPEC §10).
 *
 * Vendors name task states differently (`succeeded` vs `succeed` vs
 * `SUCCEEDED`); {@link VideoStatus} is the normalised set and
 * {@link normalizeStatus} maps every known dialect onto it.
 *
 * @since 0.1.0
 */
import { Option, Schema } from "effect"

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
export const normalizeStatus = (raw: string): Option.Option<VideoStatus> =>
  Option.fromNullable(statusByDialect[raw.trim().toLowerCase()])

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
