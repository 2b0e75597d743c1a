import { describe, expect, it } from "@effect/vitest"
import { execFile } from "node:child_process"
import { Chromium, locate, type SystemService } from "./support/systemService.js"

const fake = (envVar: string): SystemService => ({ name: "fake", install: "apt-get install fake", envVar, commands: ["sh"] })

// One child vitest on the fixture suite, with the environment given.
const runFixture = (env: Record<string, string>) =>
  new Promise<{ code: number | null; output: string }>((resolve) => {
    execFile(
      process.execPath,
      ["node_modules/vitest/vitest.mjs", "run", "--dir", "test/fixtures", "--config", "test/fixtures/vitest.config.ts"],
      { env: { ...process.env, FROBNICATOR_PATH: "/nonexistent/frobnicator", ...env }, timeout: 60_000 },
      (error, stdout, stderr) => resolve({ code: error === null ? 0 : (error.code as number | null) ?? null, output: stdout + stderr })
    )
  })

describe("system services a suite needs", () => {
  it("locate finds a command on PATH, and an explicit variable wins", () => {
    expect(locate(fake("NO_SUCH_VARIABLE_SET"))).toMatch(/\/sh$/)
    expect(locate(fake("PATH_TO_NOWHERE_FOR_TEST"))).toMatch(/\/sh$/)
    process.env["PATH_TO_NOWHERE_FOR_TEST"] = "/nonexistent/binary"
    try {
      expect(locate(fake("PATH_TO_NOWHERE_FOR_TEST"))).toBeUndefined()
    } finally {
      delete process.env["PATH_TO_NOWHERE_FOR_TEST"]
    }
    expect(Chromium.install).toContain("chromium")
  })

  it("absent, the suite is skipped with one line saying what to install", async () => {
    const { code, output } = await runFixture({ REQUIRE_SYSTEM_SERVICES: "" })
    expect(code).toBe(0)
    const lines = output.split("\n").filter((l) => l.startsWith("skipped: "))
    expect(lines).toEqual([
      "skipped: a suite that needs the frobnicator — needs frobnicator (not found; install it: apt-get install frobnicator, or set FROBNICATOR_PATH)"
    ])
    expect(output).toMatch(/1 skipped/)
  }, 60_000)

  it("absent while REQUIRE_SYSTEM_SERVICES=1 (as in CI), the suite fails instead of skipping", async () => {
    const { code, output } = await runFixture({ REQUIRE_SYSTEM_SERVICES: "1" })
    expect(code).not.toBe(0)
    expect(output).toContain("frobnicator is required (REQUIRE_SYSTEM_SERVICES=1) but was not found; install it: apt-get install frobnicator")
    expect(output).toMatch(/1 failed/)
  }, 60_000)
})
