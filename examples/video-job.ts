/**
 * Example: a video job with progress. Submits along a priority list of video
 * models, prints every step (submitted, status and progress, fell over,
 * downloaded) from `VideoPoller.track`'s Stream, and writes the video to a
 * file. The adapters point at any OpenAI-compatible gateway (or the
 * simulator: `npx effect-ai-resilience simulate`).
 *
 *   GATEWAY_BASE_URL=http://127.0.0.1:8787 GATEWAY_API_KEY=sk-... npx tsx examples/video-job.ts
 */
import { FileSystem } from "@effect/platform"
import { NodeContext, NodeHttpClient, NodeRuntime } from "@effect/platform-node"
import { Console, Effect, Stream } from "effect"
import { OpenAICompatible, VideoPoller } from "effect-ai-resilience"

/** One line per progress event. */
export const describe = (event: Stream.Stream.Success<ReturnType<typeof VideoPoller.track>>): string => {
  switch (event._tag) {
    case "Submitted":
      return `${event.model}: submitted as ${event.taskId}`
    case "Status":
      return `${event.model}: ${event.rawStatus}${event.progress === undefined ? "" : ` (${event.progress}%)`}`
    case "FellOver":
      return `${event.from}: gave up (${event.reason}), trying the next model`
    case "Downloaded":
      return `${event.model}: downloaded ${event.bytes} bytes`
    case "Completed":
      return `done: served by ${event.result.model}${event.result.fellBack ? " (a fallback)" : ""}`
  }
}

/** Run the job along `models`, report each event with `report`, and save the video to `path`. */
export const videoJob = (
  models: ReadonlyArray<VideoPoller.VideoModel>,
  prompt: string,
  path: string,
  report: (line: string) => Effect.Effect<void> = Console.log
) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    let saved: string | undefined
    yield* VideoPoller.track(models, { prompt, seconds: 5 }).pipe(
      Stream.tap((event) => report(describe(event))),
      Stream.runForEach((event) =>
        event._tag === "Completed" && event.result.video !== undefined
          ? Effect.tap(fs.writeFile(path, event.result.video.bytes), () => Effect.sync(() => { saved = path }))
          : Effect.void
      )
    )
    return saved
  })

const main = Effect.gen(function*() {
  const gateway = yield* OpenAICompatible.make(yield* OpenAICompatible.config("GATEWAY"))
  const saved = yield* videoJob(
    [{ model: "sora-2", provider: gateway }, { model: "kling-v2", provider: gateway }, { model: "gen4_turbo", provider: gateway }],
    "A paper boat drifting down a rainy street",
    "paper-boat.mp4"
  )
  yield* Console.log(saved === undefined ? "no video" : `saved ${saved}`)
})

if (import.meta.url === `file://${process.argv[1]}`) {
  main.pipe(Effect.provide([NodeHttpClient.layerUndici, NodeContext.layer]), NodeRuntime.runMain)
}
