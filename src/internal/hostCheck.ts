/**
 * The `Host` check of the servers this package runs on loopback (the status
 * page, the simulator), against DNS rebinding: a web page on `evil.example`
 * can have its own name resolve to 127.0.0.1 and then read a local server as
 * if it were same-origin — but its requests then carry `Host: evil.example`.
 *
 * A request is answered only when its `Host` names the server by an IP
 * address (a browser sends one only when the page itself was loaded from that
 * address, so no foreign page can), as `localhost` (or a name under
 * `.localhost`, which browsers resolve to loopback themselves), by the host
 * it was bound to, or by a name the user allowed. The port is not part of the
 * check: a rebinding page cannot choose the name, whatever the port.
 *
 * @internal
 */
import { isIP } from "node:net"

/** The host name of a `Host` header: lower case, without port, brackets or a trailing dot. @internal */
export const hostName = (header: string): string => {
  const value = header.trim().toLowerCase()
  const name = value.startsWith("[")
    ? value.slice(1, value.indexOf("]") === -1 ? value.length : value.indexOf("]"))
    : value.lastIndexOf(":") === -1
    ? value
    : value.slice(0, value.lastIndexOf(":"))
  return name.endsWith(".") ? name.slice(0, -1) : name
}

/**
 * A check for the `Host` header of a server bound to `bound`, which also
 * accepts the host names in `allowed` (case-insensitive, without port).
 *
 * @internal
 */
export const hostCheck = (bound: string, allowed: ReadonlyArray<string> = []) => {
  const names = new Set([hostName(bound.includes(":") && !bound.startsWith("[") ? `[${bound}]` : bound), ...allowed.map(hostName)])
  return (header: string | undefined): boolean => {
    if (header === undefined || header.trim() === "") return false
    const name = hostName(header)
    return isIP(name) !== 0 || name === "localhost" || name.endsWith(".localhost") || names.has(name)
  }
}

/** What a server says to a request whose `Host` it does not answer to. @internal */
export const forbiddenHostBody = "403 forbidden: this server does not answer to that Host name\n"
