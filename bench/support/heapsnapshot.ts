/**
 * Retained size of objects in a V8 heap snapshot (`v8.writeHeapSnapshot`).
 *
 * The retained size of an object is the memory that would be freed if it
 * were gone: the objects it dominates. Here it is computed by reachability —
 * every object reachable from the snapshot's root over strong edges (weak
 * edges skipped), minus every object still reachable when the target is
 * blocked — which gives the same set as the dominator tree. Each object's
 * `self_size` is summed over that set.
 */
import { readFileSync } from "node:fs"

interface Snapshot {
  readonly snapshot: {
    readonly meta: {
      readonly node_fields: ReadonlyArray<string>
      readonly node_types: ReadonlyArray<ReadonlyArray<string> | string>
      readonly edge_fields: ReadonlyArray<string>
      readonly edge_types: ReadonlyArray<ReadonlyArray<string> | string>
    }
    readonly node_count: number
  }
  readonly nodes: ReadonlyArray<number>
  readonly edges: ReadonlyArray<number>
  readonly strings: ReadonlyArray<string>
}

export interface Retained {
  /** Bytes retained (self sizes of the dominated objects, the target included). */
  readonly bytes: number
  /** How many objects that is. */
  readonly objects: number
  /**
   * Of `bytes`, V8 "code" nodes (compiled code and feedback of closures only
   * the target holds): JIT state that comes and goes with optimisation, not
   * data the target keeps.
   */
  readonly codeBytes: number
  /** The largest contributors by V8 node type/name, for a report. */
  readonly top: ReadonlyArray<{ readonly what: string; readonly bytes: number; readonly count: number }>
}

export interface Graph {
  readonly nodeCount: number
  /** Node index → first edge index (size nodeCount + 1). */
  readonly firstEdge: Uint32Array
  /** Edge → target node index. */
  readonly edgeTo: Uint32Array
  readonly edgeWeak: Uint8Array
  readonly edgeNameId: Uint32Array
  readonly edgeType: Uint8Array
  readonly selfSize: Float64Array
  readonly nodeType: Uint8Array
  readonly nodeName: Uint32Array
  readonly strings: ReadonlyArray<string>
  readonly nodeTypes: ReadonlyArray<string>
  readonly edgeTypes: ReadonlyArray<string>
}

/** Load a snapshot file into flat arrays. */
export const load = (file: string): Graph => {
  const json = JSON.parse(readFileSync(file, "utf8")) as Snapshot
  const meta = json.snapshot.meta
  const nf = meta.node_fields.length
  const ef = meta.edge_fields.length
  const nType = meta.node_fields.indexOf("type")
  const nName = meta.node_fields.indexOf("name")
  const nSize = meta.node_fields.indexOf("self_size")
  const nEdges = meta.node_fields.indexOf("edge_count")
  const eType = meta.edge_fields.indexOf("type")
  const eName = meta.edge_fields.indexOf("name_or_index")
  const eTo = meta.edge_fields.indexOf("to_node")
  const nodeTypes = meta.node_types[0] as ReadonlyArray<string>
  const edgeTypes = meta.edge_types[0] as ReadonlyArray<string>
  const weak = edgeTypes.indexOf("weak")
  const nodeCount = json.nodes.length / nf
  const edgeCount = json.edges.length / ef
  const firstEdge = new Uint32Array(nodeCount + 1)
  const selfSize = new Float64Array(nodeCount)
  const nodeType = new Uint8Array(nodeCount)
  const nodeName = new Uint32Array(nodeCount)
  let e = 0
  for (let i = 0; i < nodeCount; i++) {
    firstEdge[i] = e
    e += json.nodes[i * nf + nEdges]!
    selfSize[i] = json.nodes[i * nf + nSize]!
    nodeType[i] = json.nodes[i * nf + nType]!
    nodeName[i] = json.nodes[i * nf + nName]!
  }
  firstEdge[nodeCount] = e
  const edgeTo = new Uint32Array(edgeCount)
  const edgeWeak = new Uint8Array(edgeCount)
  const edgeNameId = new Uint32Array(edgeCount)
  const edgeType = new Uint8Array(edgeCount)
  for (let j = 0; j < edgeCount; j++) {
    edgeTo[j] = json.edges[j * ef + eTo]! / nf
    edgeType[j] = json.edges[j * ef + eType]!
    edgeWeak[j] = edgeType[j] === weak ? 1 : 0
    edgeNameId[j] = json.edges[j * ef + eName]!
  }
  return { nodeCount, firstEdge, edgeTo, edgeWeak, edgeNameId, edgeType, selfSize, nodeType, nodeName, strings: json.strings, nodeTypes, edgeTypes }
}

/** Nodes reachable from the root (node 0) over strong edges, not entering `blocked`. */
const reach = (g: Graph, blocked: ReadonlySet<number>): Uint8Array => {
  const seen = new Uint8Array(g.nodeCount)
  const stack = new Uint32Array(g.nodeCount)
  let top = 0
  stack[top++] = 0
  seen[0] = 1
  while (top > 0) {
    const n = stack[--top]!
    for (let j = g.firstEdge[n]!; j < g.firstEdge[n + 1]!; j++) {
      if (g.edgeWeak[j] === 1) continue
      const to = g.edgeTo[j]!
      if (seen[to] === 1 || blocked.has(to)) continue
      seen[to] = 1
      stack[top++] = to
    }
  }
  return seen
}

const propertyType = (g: Graph) => g.edgeTypes.indexOf("property")

/** The value node of property `name` of node `n`, if any. */
const property = (g: Graph, n: number, name: string): number | undefined => {
  const prop = propertyType(g)
  for (let j = g.firstEdge[n]!; j < g.firstEdge[n + 1]!; j++) {
    if (g.edgeType[j] === prop && g.strings[g.edgeNameId[j]!] === name) return g.edgeTo[j]!
  }
  return undefined
}

/** The named properties of node `n` and their value nodes. */
export const properties = (g: Graph, n: number): Array<readonly [string, number]> => {
  const prop = propertyType(g)
  const out: Array<readonly [string, number]> = []
  for (let j = g.firstEdge[n]!; j < g.firstEdge[n + 1]!; j++) {
    if (g.edgeType[j] === prop) out.push([g.strings[g.edgeNameId[j]!] ?? "?", g.edgeTo[j]!])
  }
  return out
}

/**
 * Objects that have every property in `has` and whose property `key` is the
 * string `value` (e.g. a breaker: `withBreaker`, and `model` = its model).
 */
export const findObjects = (g: Graph, has: ReadonlyArray<string>, key: string, value: string): Array<number> => {
  const object = g.nodeTypes.indexOf("object")
  const found: Array<number> = []
  for (let n = 0; n < g.nodeCount; n++) {
    if (g.nodeType[n] !== object) continue
    const v = property(g, n, key)
    if (v === undefined || g.strings[g.nodeName[v]!] !== value) continue
    if (has.every((p) => property(g, n, p) !== undefined)) found.push(n)
  }
  return found
}

/** Retained size of `targets` together (what freeing all of them would free). */
export const retained = (g: Graph, targets: ReadonlyArray<number>, base: Uint8Array = reach(g, new Set())): Retained => {
  const without = reach(g, new Set(targets))
  let bytes = 0
  let objects = 0
  let codeBytes = 0
  const code = g.nodeTypes.indexOf("code")
  const by = new Map<string, { bytes: number; count: number }>()
  for (let n = 0; n < g.nodeCount; n++) {
    if (base[n] === 1 && without[n] === 0) {
      bytes += g.selfSize[n]!
      objects++
      if (g.nodeType[n] === code) codeBytes += g.selfSize[n]!
      const type = g.nodeTypes[g.nodeType[n]!] ?? "?"
      const name = g.strings[g.nodeName[n]!] ?? ""
      const what = type === "object" || type === "closure" || type === "hidden" || type === "array"
        ? `${type} ${name.length > 40 ? `${name.slice(0, 40)}…` : name}`
        : type
      const entry = by.get(what) ?? { bytes: 0, count: 0 }
      entry.bytes += g.selfSize[n]!
      entry.count++
      by.set(what, entry)
    }
  }
  const top = [...by.entries()].map(([what, v]) => ({ what, ...v })).sort((a, b) => b.bytes - a.bytes).slice(0, 8)
  return { bytes, objects, codeBytes, top }
}

/** Everything reachable from the root, for {@link retained}'s `base`. */
export const reachable = (g: Graph): Uint8Array => reach(g, new Set())
