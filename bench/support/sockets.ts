/**
 * Counting a process's open TCP sockets, for the benchmarks' socket reports.
 *
 * Two views that can disagree for a moment while thousands of sockets are
 * being torn down: file descriptors that are sockets (`/proc/self/fd` links
 * named `socket:[…]`, Linux) and Node's live `TCPSocketWrap` handles. The
 * larger of the two is reported, so a socket counts until both have let go.
 */
import { readdirSync, readlinkSync } from "node:fs"

const fdSockets = (): number => {
  try {
    let n = 0
    for (const fd of readdirSync("/proc/self/fd")) {
      try {
        if (readlinkSync(`/proc/self/fd/${fd}`).startsWith("socket:")) n++
      } catch {
        // closed meanwhile
      }
    }
    return n
  } catch {
    return 0
  }
}

const tcpHandles = (): number => process.getActiveResourcesInfo().filter((r) => r === "TCPSocketWrap").length

/** How many sockets this process holds (see the module comment). */
export const openSockets = (): number => Math.max(fdSockets(), tcpHandles())
