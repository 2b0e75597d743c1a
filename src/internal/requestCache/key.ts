/**
 * Cache keys: a canonical JSON form of a request.
 *
 * Object keys are sorted and `undefined` fields dropped, so two requests that
 * would put the same bytes on the wire get the same key. Values JSON cannot
 * hold are spelled out rather than lost: bytes as base64, bigints as decimal
 * strings, and functions (hooks such as `onAttempt`, validators' checks) by
 * identity, so the same function shares a key and another function does not.
 * A cycle is marked rather than followed (`JSON.stringify` would throw).
 *
 * @internal
 */

/** Stable ids for functions, by identity; a function collected is forgotten. */
const functionIds = new WeakMap<Function, number>()
let nextFunctionId = 0

/** Marks start with NUL, which requests' own strings do not hold in practice. */
const functionMark = (f: Function): string => {
  let id = functionIds.get(f)
  if (id === undefined) {
    id = ++nextFunctionId
    functionIds.set(f, id)
  }
  return `\u0000function#${id}`
}

const cycleMark = "\u0000cycle"

const normalize = (value: unknown, ancestors: Set<object>): unknown => {
  switch (typeof value) {
    case "bigint":
      return value.toString()
    case "function":
      return functionMark(value)
    case "object": {
      if (value === null) return null
      if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("base64")
      if (ancestors.has(value)) return cycleMark
      ancestors.add(value)
      try {
        if (Array.isArray(value)) return value.map((item) => normalize(item, ancestors))
        const record = value as Record<string, unknown>
        // no prototype: a "__proto__" field is kept as a field
        const out: Record<string, unknown> = Object.create(null)
        for (const key of Object.keys(record).sort()) {
          if (record[key] !== undefined) out[key] = normalize(record[key], ancestors)
        }
        return out
      } finally {
        ancestors.delete(value)
      }
    }
    default:
      return value
  }
}

/** @internal */
export const keyOf = (chain: string, request: unknown): string => JSON.stringify([chain, normalize(request, new Set())])
