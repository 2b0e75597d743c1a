/**
 * Asynchronous video: submit a task, poll it on a `Schedule` until
 * it ends, download the result at once (URLs expire), and fall over to the
 * next video model when one is overloaded, queued for too long or past its
 * `maxWait`.
 *
 * - Statuses of every dialect are normalised (`VideoGeneration.normalizeStatus`).
 * - Runway answers `task_not_exist` while a task is being created: wait
 *   (`notFoundWait`, 5 s) and poll again, a few times.
 * - A poll that fails transiently (network, 5xx, 429) is tried again on the
 *   next tick; only `maxPollErrors` in a row give up on the model.
 * - `maxWait` reached → `HardFailure("Timeout")` carrying the task id, its last
 *   status and progress; queued longer than `maxQueued` → the same, and the
 *   next model is tried.
 * - A task that failed is classified by `VideoGeneration.failureOf`: a safety
 *   block (`SoftFailure("ContentFiltered")`) is final unless the caller opts
 *   in with `contentFiltered: true`.
 *
 * Progress is a `Stream` ({@link track}) or a callback ({@link run}'s
 * `onProgress`).
 *
 * @since 0.1.0
 */
import { Clock, Data, Duration, Effect, Either, Option, Schedule, Stream } from "effect"
import {
  category,
  type GenerationFailure,
  HardFailure,
  isFallbackEligible,
  isRetryable
} from "./Failure.js"
import type { DownloadedVideo, ProviderService } from "./Provider.js"
import { failureOf, isTerminal, VideoRequest, type VideoStatus, type VideoTask } from "./VideoGeneration.js"

/**
 * One video model of the priority list.
 *
 * @since 0.1.0
 */
export interface VideoModel {
  readonly model: string
  /** A whole provider, or just the video calls (`submitVideo`/`pollVideo`, optionally `downloadVideo`). */
  readonly provider: Pick<ProviderService, "name" | "submitVideo" | "pollVideo" | "downloadVideo">
  /** Price of one finished video, for the cost report. */
  readonly price?: number | undefined
}

/**
 * Options of {@link run}.
 *
 * | option | default | source |
 * |---|---|---|
 * | `poll` | every 10 s | a video takes minutes; a poll every ~10 s is the usual pace |
 * | `maxWait` | 600 s per model | the usual `max_wait` for a video job |
 * | `maxQueued` | 10 min | queued for 10+ minutes means the model is overloaded: try another |
 * | `notFoundWait` / `notFoundRetries` | 5 s / 3 | Runway may answer `task_not_exist` to an early poll while it is still creating the task |
 * | `maxPollErrors` | 5 in a row | a flaky poll is not a failed task |
 * | `contentFiltered` | `false` | like `FallbackChain`: routing around a safety block must be explicit |
 * | `download` | `true` | download at once: providers' file URLs expire |
 *
 * @since 0.1.0
 */
export interface VideoPollerOptions {
  readonly poll?: Schedule.Schedule<unknown, unknown> | undefined
  readonly maxWait?: Duration.DurationInput | undefined
  readonly maxQueued?: Duration.DurationInput | undefined
  readonly notFoundWait?: Duration.DurationInput | undefined
  readonly notFoundRetries?: number | undefined
  readonly maxPollErrors?: number | undefined
  readonly contentFiltered?: boolean | undefined
  readonly download?: boolean | undefined
}

/**
 * What a job reports as it goes.
 *
 * @since 0.1.0
 */
export type VideoProgress =
  | { readonly _tag: "Submitted"; readonly model: string; readonly taskId: string }
  | {
    readonly _tag: "Status"
    readonly model: string
    readonly taskId: string
    readonly status: VideoStatus
    readonly rawStatus: string
    readonly progress: number | undefined
  }
  | { readonly _tag: "FellOver"; readonly from: string; readonly reason: string; readonly message: string }
  | { readonly _tag: "Downloaded"; readonly model: string; readonly taskId: string; readonly bytes: number }

/**
 * How one model's try ended.
 *
 * @since 0.1.0
 */
export interface VideoAttempt {
  readonly model: string
  /** The task id, once submitted. */
  readonly taskId: string | undefined
  readonly outcome: "succeeded" | "failed"
  /** The classified failure of a failed try. */
  readonly failure: GenerationFailure | undefined
  /** Simulated/real ms from submit to the end of this try. */
  readonly durationMs: number
}

/**
 * A finished job.
 *
 * @since 0.1.0
 */
export interface VideoJobResult {
  readonly model: string
  readonly task: VideoTask
  /** The video, downloaded right away (absent with `download: false` or a provider that cannot download). */
  readonly video: DownloadedVideo | undefined
  readonly attempts: ReadonlyArray<VideoAttempt>
  readonly fellBack: boolean
  readonly cost: number
}

/**
 * Every video model failed; `attempts` says how each try ended (a time-out's
 * failure carries the task id, last status and progress).
 *
 * @since 0.1.0
 */
export class VideoJobFailed extends Data.TaggedError("VideoJobFailed")<{
  readonly message: string
  readonly attempts: ReadonlyArray<VideoAttempt>
}> {}

/** What a job can fail with. @since 0.1.0 */
export type VideoJobError = VideoJobFailed | GenerationFailure

const timeoutOf = (task: VideoTask, why: string): HardFailure =>
  new HardFailure({
    reason: "Timeout",
    provider: task.provider,
    model: task.model,
    message: `${why}: task ${task.id} is ${task.rawStatus}${task.progress === undefined ? "" : ` at ${task.progress}%`}`,
    taskId: task.id,
    taskStatus: task.rawStatus,
    ...(task.progress === undefined ? {} : { taskProgress: task.progress }),
    ...(task.requestId === undefined ? {} : { requestId: task.requestId })
  })

/** Outcome of one model: the task and video, or the failure that ends the try. */
type Try = { readonly _tag: "Done"; readonly task: VideoTask; readonly video: DownloadedVideo | undefined } | {
  readonly _tag: "Failed"
  readonly failure: GenerationFailure
  readonly taskId: string | undefined
}

const tryModel = (
  entry: VideoModel,
  request: VideoRequest,
  options: VideoPollerOptions,
  emit: (event: VideoProgress) => Effect.Effect<void>
): Effect.Effect<Try> =>
  Effect.gen(function*() {
    const maxWait = Duration.toMillis(Duration.decode(options.maxWait ?? "600 seconds"))
    const maxQueued = Duration.toMillis(Duration.decode(options.maxQueued ?? "10 minutes"))
    const notFoundWait = Duration.decode(options.notFoundWait ?? "5 seconds")
    const notFoundRetries = options.notFoundRetries ?? 3
    const maxPollErrors = options.maxPollErrors ?? 5
    const submitted = yield* Effect.either(entry.provider.submitVideo(request))
    if (submitted._tag === "Left") return { _tag: "Failed", failure: submitted.left, taskId: undefined } as const
    let task = submitted.right
    yield* emit({ _tag: "Submitted", model: entry.model, taskId: task.id })
    const started = yield* Clock.currentTimeMillis
    let queuedSince: number | undefined = task.status === "queued" ? started : undefined
    let notFound = 0
    let pollErrors = 0
    const driver = yield* Schedule.driver(options.poll ?? Schedule.spaced("10 seconds"))
    // After a `task_not_exist` wait the next poll is due at once, not one more tick later.
    let pollNow = false
    while (!isTerminal(task.status)) {
      const now = yield* Clock.currentTimeMillis
      if (queuedSince !== undefined && now - queuedSince >= maxQueued) {
        return {
          _tag: "Failed",
          failure: timeoutOf(task, `queued for ${Duration.format(Duration.millis(now - queuedSince))} (the model is under load)`),
          taskId: task.id
        } as const
      }
      if (now - started >= maxWait) {
        return { _tag: "Failed", failure: timeoutOf(task, `no result within ${Duration.format(Duration.millis(maxWait))}`), taskId: task.id } as const
      }
      const next = pollNow ? Either.void : yield* Effect.either(driver.next(undefined))
      pollNow = false
      if (next._tag === "Left") {
        return { _tag: "Failed", failure: timeoutOf(task, "the poll schedule ended before the task did"), taskId: task.id } as const
      }
      const polled = yield* Effect.either(entry.provider.pollVideo({ id: task.id, model: task.model }))
      if (polled._tag === "Left") {
        const failure = polled.left
        if (failure.code === "task_not_exist" && notFound < notFoundRetries) {
          // Runway: the task is still being created; wait and poll again
          notFound++
          yield* Effect.sleep(notFoundWait)
          pollNow = true
          continue
        }
        if (isRetryable(failure) && ++pollErrors < maxPollErrors) continue
        return { _tag: "Failed", failure, taskId: task.id } as const
      }
      pollErrors = 0
      const previous = task
      task = polled.right
      const at = yield* Clock.currentTimeMillis
      if (task.status === "queued") queuedSince ??= at
      else queuedSince = undefined
      if (task.rawStatus !== previous.rawStatus || task.progress !== previous.progress) {
        yield* emit({ _tag: "Status", model: entry.model, taskId: task.id, status: task.status, rawStatus: task.rawStatus, progress: task.progress })
      }
    }
    const failed = failureOf(task)
    if (Option.isSome(failed)) return { _tag: "Failed", failure: failed.value, taskId: task.id } as const
    if (options.download === false || entry.provider.downloadVideo === undefined) return { _tag: "Done", task, video: undefined } as const
    const video = yield* Effect.either(entry.provider.downloadVideo(task))
    if (video._tag === "Left") return { _tag: "Failed", failure: video.left, taskId: task.id } as const
    yield* emit({ _tag: "Downloaded", model: entry.model, taskId: task.id, bytes: video.right.bytes.byteLength })
    return { _tag: "Done", task, video: video.right } as const
  })

/**
 * Submit `request` along `models` (primary first) and wait for a finished,
 * downloaded video.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Provider, VideoPoller } from "effect-ai-resilience"
 *
 * const program = Effect.gen(function*() {
 *   const provider = yield* Provider.Provider
 *   const job = yield* VideoPoller.run(
 *     [{ model: "sora-2", provider }, { model: "kling-v2", provider }],
 *     { prompt: "A paper boat on a rainy street", seconds: 5 },
 *     { onProgress: (p) => Effect.log(p._tag === "Status" ? `${p.model} ${p.rawStatus} ${p.progress ?? ""}` : p._tag) }
 *   )
 *   return job.video?.bytes
 * })
 * ```
 *
 * @since 0.1.0
 */
export const run = (
  models: ReadonlyArray<VideoModel>,
  input: Omit<ConstructorParameters<typeof VideoRequest>[0], "model">,
  options: VideoPollerOptions & { readonly onProgress?: ((event: VideoProgress) => Effect.Effect<void>) | undefined } = {}
): Effect.Effect<VideoJobResult, VideoJobError> =>
  Effect.gen(function*() {
    const emit = options.onProgress ?? (() => Effect.void)
    const attempts: Array<VideoAttempt> = []
    for (const [rank, entry] of models.entries()) {
      const t0 = yield* Clock.currentTimeMillis
      const request = yield* Effect.try({
        try: () => VideoRequest.make({ ...input, model: entry.model }),
        catch: (e) =>
          new HardFailure({ reason: "BadRequest", provider: entry.provider.name, model: entry.model, message: `invalid video request: ${String(e)}` })
      })
      const outcome = yield* tryModel(entry, request, options, emit)
      const durationMs = (yield* Clock.currentTimeMillis) - t0
      if (outcome._tag === "Done") {
        attempts.push({ model: entry.model, taskId: outcome.task.id, outcome: "succeeded", failure: undefined, durationMs })
        return { model: entry.model, task: outcome.task, video: outcome.video, attempts, fellBack: rank > 0, cost: entry.price ?? 0 }
      }
      attempts.push({ model: entry.model, taskId: outcome.taskId, outcome: "failed", failure: outcome.failure, durationMs })
      if (!isFallbackEligible(outcome.failure, { contentFiltered: options.contentFiltered === true })) {
        return yield* Effect.fail(outcome.failure)
      }
      if (rank < models.length - 1) {
        yield* emit({ _tag: "FellOver", from: entry.model, reason: `${category(outcome.failure)}/${outcome.failure.reason}`, message: outcome.failure.message })
      }
    }
    return yield* new VideoJobFailed({
      message: models.length === 0
        ? "no video models configured"
        : `every video model failed: ${attempts.map((a) => `${a.model} (${a.failure?.reason ?? "?"})`).join(", ")}`,
      attempts
    })
  })

/**
 * The job as a `Stream` of progress events; the stream ends after the job's
 * last event and fails with the job's failure.
 *
 * @example
 * ```ts
 * import { Effect, Stream } from "effect"
 * import { VideoPoller } from "effect-ai-resilience"
 *
 * declare const models: ReadonlyArray<VideoPoller.VideoModel>
 * const printed = VideoPoller.track(models, { prompt: "A paper boat" }).pipe(
 *   Stream.runForEach((event) => Effect.log(event._tag))
 * )
 * ```
 *
 * @since 0.1.0
 */
export const track = (
  models: ReadonlyArray<VideoModel>,
  input: Omit<ConstructorParameters<typeof VideoRequest>[0], "model">,
  options: VideoPollerOptions = {}
): Stream.Stream<VideoProgress | { readonly _tag: "Completed"; readonly result: VideoJobResult }, VideoJobError> =>
  Stream.asyncScoped<VideoProgress | { readonly _tag: "Completed"; readonly result: VideoJobResult }, VideoJobError>((emit) =>
    run(models, input, { ...options, onProgress: (event) => Effect.promise(() => emit.single(event)).pipe(Effect.asVoid) }).pipe(
      Effect.matchCauseEffect({
        onFailure: (cause) => Effect.promise(() => emit.halt(cause)),
        onSuccess: (result) => Effect.promise(() => emit.single({ _tag: "Completed", result })).pipe(Effect.andThen(Effect.promise(() => emit.end())))
      }),
      Effect.forkScoped
    )
  )
