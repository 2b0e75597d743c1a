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

// An IP literal, checked without node:net so that the status page's routes
// load on any platform: dotted-quad IPv4, or IPv6 as a URL parser takes it.
const isIpLiteral = (name: string): boolean => {
  const quad = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(name)
  if (quad !== null) return quad.slice(1).every((part) => Number(part) <= 255 && (part === "0" || !part.startsWith("0")))
  if (!name.includes(":") || !/^[0-9a-f:.]+$/i.test(name)) return false
  try {
    return new URL(`http://[${name}]/`).hostname.length > 0
  } catch {
    return false
  }
}

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
    return isIpLiteral(name) || name === "localhost" || name.endsWith(".localhost") || names.has(name)
  }
}

/** What a server says to a request whose `Host` it does not answer to. @internal */
export const forbiddenHostBody = "403 forbidden: this server does not answer to that Host name\n"
