/**
 * A small SVG renderer for bench/RESULTS.svg: panels of horizontal bars, one
 * panel per figure, drawn from the numbers measured in the same run (nothing
 * here is typed in by hand). No dependencies: plain SVG text.
 */

export interface Bar {
  readonly label: string
  readonly value: number
  /** Text shown at the end of the bar (defaults to the value). */
  readonly text?: string
  /** Highlight (this toolkit's own bars). */
  readonly ours?: boolean
}

export interface Panel {
  readonly title: string
  /** What the bars measure, e.g. "µs added per call (lower is better)". */
  readonly caption: string
  readonly bars: ReadonlyArray<Bar>
  /** A vertical line (e.g. a target) at this value, with its label. */
  readonly marker?: { readonly value: number; readonly label: string }
  /** Draw on a log scale (for values spanning orders of magnitude). */
  readonly log?: boolean
}

const escape = (s: string): string => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;")

const WIDTH = 860
const LABEL = 300
const BAR_AREA = WIDTH - LABEL - 120
const ROW = 24
const HEAD = 46

const panelHeight = (p: Panel) => HEAD + p.bars.length * ROW + 16

const renderPanel = (p: Panel, y0: number): string => {
  const values = [...p.bars.map((b) => b.value), ...(p.marker === undefined ? [] : [p.marker.value])].filter((v) => Number.isFinite(v) && v > 0)
  const max = Math.max(...values, 1e-9)
  const min = Math.min(...values, max)
  const scale = (v: number): number => {
    if (!Number.isFinite(v) || v <= 0) return 0
    if (p.log !== true) return (v / max) * BAR_AREA
    const lo = Math.log10(Math.max(min / 2, 1e-9))
    const hi = Math.log10(max)
    return hi === lo ? BAR_AREA : ((Math.log10(v) - lo) / (hi - lo)) * BAR_AREA
  }
  const parts: Array<string> = [
    `<text x="16" y="${y0 + 20}" class="title">${escape(p.title)}</text>`,
    `<text x="16" y="${y0 + 37}" class="caption">${escape(p.caption)}${p.log === true ? " — log scale" : ""}</text>`
  ]
  p.bars.forEach((b, i) => {
    const y = y0 + HEAD + i * ROW
    const w = Math.max(1, scale(b.value))
    parts.push(
      `<text x="${LABEL - 8}" y="${y + 15}" class="label" text-anchor="end">${escape(b.label)}</text>`,
      `<rect x="${LABEL}" y="${y + 3}" width="${w.toFixed(1)}" height="${ROW - 8}" class="${b.ours === true ? "ours" : "bar"}"/>`,
      `<text x="${(LABEL + w + 6).toFixed(1)}" y="${y + 15}" class="value">${escape(b.text ?? String(b.value))}</text>`
    )
  })
  if (p.marker !== undefined && Number.isFinite(p.marker.value) && p.marker.value > 0) {
    const x = LABEL + scale(p.marker.value)
    const y1 = y0 + HEAD - 4
    const y2 = y0 + HEAD + p.bars.length * ROW
    parts.push(
      `<line x1="${x.toFixed(1)}" y1="${y1}" x2="${x.toFixed(1)}" y2="${y2}" class="marker"/>`,
      `<text x="${(x + 4).toFixed(1)}" y="${y1 + 2}" class="markerText">${escape(p.marker.label)}</text>`
    )
  }
  return parts.join("\n")
}

/** One SVG document holding every panel, stacked. */
export const render = (title: string, subtitle: string, panels: ReadonlyArray<Panel>): string => {
  let y = 56
  const body: Array<string> = []
  for (const p of panels) {
    body.push(renderPanel(p, y))
    y += panelHeight(p)
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${y + 8}" viewBox="0 0 ${WIDTH} ${y + 8}" font-family="system-ui, sans-serif">
<style>
  .title { font-size: 14px; font-weight: 600; fill: #111 }
  .caption, .sub { font-size: 11px; fill: #555 }
  .label { font-size: 12px; fill: #222 }
  .value { font-size: 11px; fill: #333 }
  .bar { fill: #9aa5b1 }
  .ours { fill: #2f6fdb }
  .marker { stroke: #d33; stroke-dasharray: 4 3 }
  .markerText { font-size: 10px; fill: #d33 }
</style>
<rect width="100%" height="100%" fill="#fff"/>
<text x="16" y="24" class="title" font-size="16">${escape(title)}</text>
<text x="16" y="42" class="sub">${escape(subtitle)}</text>
${body.join("\n")}
</svg>
`
}
