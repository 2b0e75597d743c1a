import { describe, it } from "@effect/vitest"
import { execFileSync } from "node:child_process"
import { existsSync } from "node:fs"

/**
 * Suites that need a program the machine may not have (Chromium, redis-server)
 * ask for it here. Absent, the suite is reported as skipped with one line
 * saying what to install — unless `REQUIRE_SYSTEM_SERVICES=1` (set by
 * `.ci/run`, which installs them), where an absent service is a failed test:
 * CI must never pass by skipping.
 */
export interface SystemService {
  /** Shown in the skip line, e.g. "Chromium". */
  readonly name: string
  /** How to get it, e.g. "apt-get install chromium". */
  readonly install: string
  /** The environment variable that points at it explicitly (wins over PATH). */
  readonly envVar: string
  /** Executable names looked up on PATH, then absolute fallbacks. */
  readonly commands: ReadonlyArray<string>
  readonly paths?: ReadonlyArray<string> | undefined
}

const onPath = (command: string): string | undefined => {
  try {
    const out = execFileSync("sh", ["-c", `command -v "$1"`, "sh", command], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] })
    const path = out.trim()
    return path.length > 0 && existsSync(path) ? path : undefined
  } catch {
    return undefined
  }
}

/**
 * Where the service's executable is, or `undefined`. An explicit variable that
 * points nowhere means "absent" (so a machine without the service can be
 * imitated with `CHROMIUM_PATH=/nonexistent`).
 */
export const locate = (service: SystemService): string | undefined => {
  const explicit = process.env[service.envVar]
  if (explicit !== undefined && explicit.length > 0) return existsSync(explicit) ? explicit : undefined
  for (const command of service.commands) {
    const found = onPath(command)
    if (found !== undefined) return found
  }
  return (service.paths ?? []).find((p) => existsSync(p))
}

export const servicesRequired = (): boolean => process.env["REQUIRE_SYSTEM_SERVICES"] === "1"

/** The line printed when a suite is skipped. */
export const skipLine = (service: SystemService, suite: string): string =>
  `skipped: ${suite} — needs ${service.name} (not found; install it: ${service.install}, or set ${service.envVar})`

/**
 * `describe` for a suite that needs `service`: the body gets the executable's
 * path. Absent: one skip line on stderr and a skipped suite, or, when services
 * are required, one failing test naming what is missing.
 */
export const describeWithService = (
  service: SystemService,
  suite: string,
  body: (path: string) => void
): void => {
  const path = locate(service)
  if (path !== undefined) {
    describe(suite, () => body(path))
    return
  }
  if (servicesRequired()) {
    describe(suite, () => {
      it(`needs ${service.name}`, () => {
        throw new Error(`${service.name} is required (REQUIRE_SYSTEM_SERVICES=1) but was not found; install it: ${service.install}`)
      })
    })
    return
  }
  process.stderr.write(`${skipLine(service, suite)}\n`)
  describe.skip(suite, () => body(""))
}

export const Chromium: SystemService = {
  name: "Chromium",
  install: "apt-get install chromium",
  envVar: "CHROMIUM_PATH",
  commands: ["chromium", "chromium-browser", "google-chrome"],
  paths: ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]
}

export const RedisServer: SystemService = {
  name: "redis-server",
  install: "apt-get install redis-server",
  envVar: "REDIS_SERVER_PATH",
  commands: ["redis-server"],
  paths: ["/usr/bin/redis-server", "/usr/local/bin/redis-server"]
}
