import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { settle } from "../test/support/clock.js"
import { HttpLive, startSimulator } from "../test/support/simulator.js"
import { videoJob } from "./video-job.js"

describe("example: a video job with progress", () => {
  it.scoped("prints each step, falls over from a failing model and saves the video", () =>
    Effect.gen(function*() {
      const { openai, sim } = yield* startSimulator()
      yield* sim.setOverride("sora-2", "overloaded")
      const path = join(mkdtempSync(join(tmpdir(), "ear-video-")), "boat.mp4")
      const lines: Array<string> = []
      const saved = yield* settle(
        videoJob(
          [{ model: "sora-2", provider: openai }, { model: "gen4_turbo", provider: openai }],
          "A paper boat [sim:ok]",
          path,
          (line) => Effect.sync(() => { lines.push(line) })
        ),
        "1 second",
        5_000
      )
      expect(saved).toBe(path)
      expect(readFileSync(path).subarray(4, 8).toString()).toBe("ftyp")
      expect(lines[0]).toMatch(/^sora-2: gave up \(hard\/Overloaded\)/)
      expect(lines).toContainEqual(expect.stringMatching(/^gen4_turbo: submitted as /))
      expect(lines.slice(-2)).toEqual([expect.stringMatching(/^gen4_turbo: downloaded \d+ bytes$/), "done: served by gen4_turbo (a fallback)"])
    }).pipe(Effect.provide(Layer.merge(HttpLive, NodeContext.layer))))
})
