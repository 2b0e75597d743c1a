import { describe, expect, it } from "@effect/vitest"
import { Cause, Chunk, Clock, Effect, Exit, Stream, TestClock } from "effect"
import { HardFailure } from "../src/Failure.js"
import * as Simulator from "../src/Simulator.js"
import * as VideoPoller from "../src/VideoPoller.js"
import { settle } from "./support/clock.js"
import { HttpLive, KEY, startSimulator, testConfig } from "./support/simulator.js"

const instant = { medianMs: 0, p95Ms: 0 }
const video = (id: string, dialect: "openai" | "kling" | "runway", queueSeconds: number, renderSeconds: number, extra: object = {}) =>
  ({ id, vendor: dialect, kind: "video" as const, videoDialect: dialect, latency: instant, video: { queueSeconds, renderSeconds }, ...extra })

describe("VideoPoller", () => {
  for (const model of ["sora-2", "kling-v2", "gen4_turbo"]) {
    it.scoped(`${model}: submit, poll to completion (statuses normalised) and download the video at once`, () =>
      Effect.gen(function*() {
        const { openai } = yield* startSimulator()
        const events: Array<VideoPoller.VideoProgress> = []
        const job = yield* settle(
          VideoPoller.run([{ model, provider: openai, price: 0.5 }], { prompt: "A paper boat [sim:ok]", seconds: 5 }, {
            onProgress: (e) => Effect.sync(() => { events.push(e) })
          }),
          "1 second",
          5_000
        )
        expect([job.model, job.task.status, job.fellBack, job.cost]).toEqual([model, "succeeded", false, 0.5])
        expect(job.video?.mimeType).toBe("video/mp4")
        expect(job.video!.bytes.byteLength).toBeGreaterThan(8)
        expect(new TextDecoder().decode(job.video!.bytes.subarray(4, 8))).toBe("ftyp") // an MP4 box
        const statuses = events.flatMap((e) => (e._tag === "Status" ? [e.status] : []))
        expect(statuses[statuses.length - 1]).toBe("succeeded")
        expect(events[0]?._tag).toBe("Submitted")
        expect(events[events.length - 1]?._tag).toBe("Downloaded")
      }).pipe(Effect.provide(HttpLive)))
  }

  it.scoped("Runway's task_not_exist on the first poll is waited out, not a failure", () =>
    Effect.gen(function*() {
      const { openai, sim } = yield* startSimulator()
      const job = yield* settle(VideoPoller.run([{ model: "gen4_turbo", provider: openai }], { prompt: "A kite [sim:ok]" }), "1 second", 5_000)
      expect(job.task.status).toBe("succeeded")
      expect(job.attempts).toHaveLength(1)
      const state = (yield* sim.snapshot).models.find((m) => m.id === "gen4_turbo")!
      expect(state.requests).toBeGreaterThan(0)
    }).pipe(Effect.provide(HttpLive)))

  it.scoped("maxWait reached: HardFailure(Timeout) carrying the task id, its last status and progress", () =>
    Effect.gen(function*() {
      const { openai } = yield* startSimulator()
      const failure = yield* Effect.flip(settle(
        VideoPoller.run([{ model: "sora-2", provider: openai }], { prompt: "A slow render [sim:ok]" }, { maxWait: "50 seconds" }),
        "1 second",
        5_000
      ))
      expect(failure._tag).toBe("VideoJobFailed")
      const timeout = failure._tag === "VideoJobFailed" ? failure.attempts[0]?.failure : undefined
      expect(timeout).toMatchObject({ _tag: "HardFailure", reason: "Timeout", model: "sora-2" })
      expect(timeout?._tag === "HardFailure" && timeout.taskId).toMatch(/.+/)
      expect(timeout?._tag === "HardFailure" && timeout.taskStatus).toBe("in_progress")
      expect(timeout?._tag === "HardFailure" && typeof timeout.taskProgress).toBe("number")
    }).pipe(Effect.provide(HttpLive)))

  it.scoped("queued for too long on one model: abandoned, and the next video model serves", () =>
    Effect.gen(function*() {
      const { openai } = yield* startSimulator(testConfig({
        models: [video("sora-2", "openai", 3_600, 60), video("kling-v2", "kling", 5, 30)]
      }))
      const events: Array<string> = []
      const job = yield* settle(
        VideoPoller.run(
          [{ model: "sora-2", provider: openai }, { model: "kling-v2", provider: openai }],
          { prompt: "A crowded queue [sim:ok]" },
          { onProgress: (e) => Effect.sync(() => { events.push(e._tag === "FellOver" ? `FellOver ${e.from} ${e.reason}` : e._tag) }) }
        ),
        "5 seconds",
        5_000
      )
      expect([job.model, job.fellBack]).toEqual(["kling-v2", true])
      expect(job.attempts.map((a) => [a.model, a.outcome, a.failure?.reason])).toEqual([
        ["sora-2", "failed", "Timeout"],
        ["kling-v2", "succeeded", undefined]
      ])
      expect(job.attempts[0]!.failure?.message).toMatch(/queued for 10m/)
      expect(events).toContain("FellOver sora-2 hard/Timeout")
    }).pipe(Effect.provide(HttpLive)))

  it.scoped("a task stopped by the safety system is a SoftFailure and is not routed around by default", () =>
    Effect.gen(function*() {
      const { openai } = yield* startSimulator()
      const models = [{ model: "sora-2", provider: openai }, { model: "kling-v2", provider: openai }]
      const failure = yield* Effect.flip(settle(VideoPoller.run(models, { prompt: "Something risky [sim:contentFilter]" }), "1 second", 5_000))
      expect(failure).toMatchObject({ _tag: "SoftFailure", reason: "ContentFiltered", model: "sora-2" })
    }).pipe(Effect.provide(HttpLive)))

  it.scoped("progress as a Stream: submitted, statuses with progress, downloaded, completed", () =>
    Effect.gen(function*() {
      const { openai } = yield* startSimulator()
      const events = yield* settle(
        Stream.runCollect(VideoPoller.track([{ model: "kling-v2", provider: openai }], { prompt: "A kite [sim:ok]" })),
        "1 second",
        5_000
      )
      const tags = Chunk.toReadonlyArray(events).map((e) => e._tag)
      expect(tags[0]).toBe("Submitted")
      expect(tags.slice(-2)).toEqual(["Downloaded", "Completed"])
      expect(tags.filter((t) => t === "Status").length).toBeGreaterThan(0)
    }).pipe(Effect.provide(HttpLive)))

  it.scoped("a video URL that has expired is a typed failure (NotFound, url_expired), not a crash", () =>
    Effect.gen(function*() {
      const { openai } = yield* startSimulator(testConfig({
        models: [video("kling-v2", "kling", 1, 1, { urlTtlSeconds: 60 })]
      }))
      const job = yield* settle(VideoPoller.run([{ model: "kling-v2", provider: openai }], { prompt: "A kite [sim:ok]" }, { download: false }), "1 second", 5_000)
      yield* TestClock.adjust("2 minutes")
      const failure = yield* Effect.flip(openai.downloadVideo!(job.task))
      expect(failure).toMatchObject({ _tag: "HardFailure", reason: "NotFound", code: "url_expired" })
      expect(JSON.stringify(failure)).not.toContain(KEY)
    }).pipe(Effect.provide(HttpLive)))

  it.scoped("Runway's task_not_exist: polled again after notFoundWait (5 s), not a further poll tick later", () =>
    Effect.gen(function*() {
      const { openai } = yield* startSimulator(testConfig({
        models: [{ id: "gen4_turbo", vendor: "runway", kind: "video", videoDialect: "runway", latency: instant, video: { queueSeconds: 0, renderSeconds: 1 } }]
      }))
      const t0 = yield* Clock.currentTimeMillis
      const polledAt: Array<number> = []
      const provider = {
        ...openai,
        pollVideo: (task: { readonly id: string; readonly model: string }) =>
          Clock.currentTimeMillis.pipe(Effect.tap((now) => { polledAt.push((now - t0) / 1000) }), Effect.andThen(openai.pollVideo(task)))
      }
      const job = yield* settle(VideoPoller.run([{ model: "gen4_turbo", provider }], { prompt: "A kite [sim:ok]" }), "1 second", 5_000)
      expect(job.task.status).toBe("succeeded")
      // the first tick finds task_not_exist; the next poll comes 5 s later (not 5 s + a 10 s tick)
      expect(polledAt).toHaveLength(2)
      expect(polledAt[1]! - polledAt[0]!).toBe(5)
    }).pipe(Effect.provide(HttpLive)))

  it.scoped("a poll that fails transiently (502) is tried again on the next tick, not the end of the job", () =>
    Effect.gen(function*() {
      const { openai } = yield* startSimulator()
      let polls = 0
      const provider = {
        ...openai,
        pollVideo: (task: { readonly id: string; readonly model: string }) =>
          ++polls <= 2
            ? Effect.fail(new HardFailure({ reason: "ServerError", provider: openai.name, model: task.model, message: "bad gateway", status: 502 }))
            : openai.pollVideo(task)
      }
      const job = yield* settle(VideoPoller.run([{ model: "sora-2", provider }], { prompt: "A kite [sim:ok]" }), "1 second", 5_000)
      expect([job.model, job.task.status, job.attempts.length]).toEqual(["sora-2", "succeeded", 1])
      expect(polls).toBeGreaterThan(2)
    }).pipe(Effect.provide(HttpLive)))

  it.scoped("the progress Stream ends (with the defect) when the job dies, instead of hanging", () =>
    Effect.gen(function*() {
      const { openai } = yield* startSimulator()
      const provider = { ...openai, pollVideo: () => Effect.die("a bug in a poll") }
      const exit = yield* settle(Effect.exit(Stream.runCollect(VideoPoller.track([{ model: "sora-2", provider }], { prompt: "A kite [sim:ok]" }))), "1 second", 100)
      expect(Exit.isFailure(exit) && Cause.isDie(exit.cause)).toBe(true)
    }).pipe(Effect.provide(HttpLive)), 10_000)
})

// keep the import used when the simulator's config type is needed in a helper
export type _Config = Simulator.SimulatorConfigInput
