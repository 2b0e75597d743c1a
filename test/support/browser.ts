import { Effect } from "effect"
import { existsSync } from "node:fs"
import { type Browser, chromium } from "playwright-core"

const candidates = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]

/** Debian's Chromium (`.ci/run` installs it). Fails loudly when it is missing: the browser test must not skip silently. */
export const chromiumPath = (): string => {
  const found = [process.env["CHROMIUM_PATH"], ...candidates].find((p): p is string => p !== undefined && existsSync(p))
  if (found === undefined) throw new Error(`no Chromium found (looked at ${candidates.join(", ")}; set CHROMIUM_PATH); .ci/run installs Debian's chromium`)
  return found
}

/** A headless Chromium for the length of the scope. */
export const launchBrowser = Effect.acquireRelease(
  Effect.promise((): Promise<Browser> =>
    chromium.launch({ executablePath: chromiumPath(), headless: true, args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"] })
  ),
  (browser) => Effect.promise(() => browser.close())
)
