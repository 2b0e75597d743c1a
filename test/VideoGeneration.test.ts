import { describe, expect, it } from "@effect/vitest"
import { FastCheck, Option } from "effect"
import { isRetryable } from "../src/Failure.js"
import { failureOf, isTerminal, normalizeStatus, VideoStatus, VideoTask } from "../src/VideoGeneration.js"

const task = (status: VideoTask["status"], rawStatus: string, error?: VideoTask["error"]) =>
  VideoTask.make({ provider: "gateway", model: "kling-v2", id: "task-1", status, rawStatus, ...(error === undefined ? {} : { error }) })

describe("normalizeStatus", () => {
  it.each([
    ["queued", "queued"], ["in_progress", "running"], ["completed", "succeeded"], ["failed", "failed"], ["cancelled", "cancelled"],
    ["submitted", "queued"], ["processing", "running"], ["succeed", "succeeded"],
    ["PENDING", "queued"], ["THROTTLED", "queued"], ["RUNNING", "running"], ["SUCCEEDED", "succeeded"], ["FAILED", "failed"], ["CANCELLED", "cancelled"]
  ] as const)("%s → %s", (raw, normalised) => {
    expect(normalizeStatus(raw)).toEqual(Option.some(normalised))
  })

  it("an unknown status is None, not a guess", () => {
    expect(normalizeStatus("melting")).toEqual(Option.none())
  })

  it.prop("terminal exactly for succeeded, failed and cancelled", [FastCheck.constantFrom(...VideoStatus.literals)], ([status]) => {
    expect(isTerminal(status)).toBe(["succeeded", "failed", "cancelled"].includes(status))
  })
})

describe("failureOf", () => {
  it("a task still running or done has no failure", () => {
    expect(failureOf(task("running", "processing"))).toEqual(Option.none())
    expect(failureOf(task("succeeded", "succeed"))).toEqual(Option.none())
  })

  it.each([
    ["OpenAI moderation_blocked", { code: "moderation_blocked", message: "Your request was blocked by our moderation system." }],
    ["Runway SAFETY.INPUT.TEXT", { code: "SAFETY.INPUT.TEXT", message: "The prompt did not pass our content checks" }],
    ["Kling risk control", { message: "Failure to pass the risk control system" }]
  ] as const)("%s is SoftFailure(ContentFiltered), not retryable", (_, error) => {
    const failure = Option.getOrThrow(failureOf(task("failed", "failed", error)))
    expect([failure._tag, failure.reason]).toEqual(["SoftFailure", "ContentFiltered"])
    expect(failure.message).toContain("task-1")
    expect(isRetryable(failure)).toBe(false)
  })

  it("a render failure without safety wording is HardFailure(ServerError), retryable, with the vendor's words", () => {
    const failure = Option.getOrThrow(failureOf(task("failed", "FAILED", { code: "INTERNAL", message: "GPU node lost" })))
    expect([failure._tag, failure.reason, failure.code]).toEqual(["HardFailure", "ServerError", "INTERNAL"])
    expect(failure.message).toBe("video task task-1 ended FAILED (INTERNAL: GPU node lost)")
    expect(isRetryable(failure)).toBe(true)
  })
})

describe("VideoGeneration.normalizeStatus with a built-in property name", () => {
  it("is not a status", () => {
    expect(Option.isNone(normalizeStatus("constructor"))).toBe(true)
    expect(Option.isNone(normalizeStatus("__proto__"))).toBe(true)
  })
})
