import { Effect } from "effect"
import { type Browser, chromium } from "playwright-core"
import { Chromium, locate } from "./systemService.js"

/**
 * A headless Chromium for the length of the scope. Suites that use it are
 * declared with `describeWithService(Chromium, …)` (./systemService.ts), which
 * skips them (or, in CI, fails them) when Chromium is missing, so reaching the
 * `die` here is a bug in the suite, not a missing install.
 */
export const launchBrowser = Effect.acquireRelease(
  Effect.suspend(() => {
    const executablePath = locate(Chromium)
    if (executablePath === undefined) return Effect.dieMessage("no Chromium: declare the suite with describeWithService(Chromium, …)")
    return Effect.promise((): Promise<Browser> =>
      chromium.launch({
        executablePath,
        headless: true,
        args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking", "--disable-component-update", "--no-first-run"]
      })
    )
  }),
  (browser) => Effect.promise(() => browser.close())
)
