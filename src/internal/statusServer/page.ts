/**
 * The status page: server-rendered from a snapshot (works without script),
 * then kept live from `/status/events` (falls back to polling `/status`).
 * Every string escaped. Its style sheet and script are served from the same
 * origin (`status/page.css`, `status/page.js`) rather than inline, so that
 * the page runs under a policy that allows no inline code at all
 * ({@link contentSecurityPolicy}); the traffic bars use classes instead of
 * `style` attributes for the same reason.
 *
 * @internal
 */
import type { ModelHealth, StatusSnapshot } from "../../ModelStatus.js"

/** @internal */
export const escapeHtml = (text: string): string =>
  text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;", "'": "&#39;" })[c]!)

const seconds = (ms: number | undefined) => (ms === undefined ? "–" : `${(ms / 1000).toFixed(1)} s`)

/** A share (0–1) as a whole percentage, clamped: it names one of the `w0`…`w100` width classes. */
const percent = (share: number): number => Math.min(100, Math.max(0, Math.round(share * 100)))

const row = (m: ModelHealth): string =>
  `<tr data-model="${escapeHtml(m.model)}" data-health="${m.health}">` +
  `<td><span class="badge ${m.health}">${m.health}</span></td>` +
  `<td class="model">${escapeHtml(m.model)}<div class="sub">${escapeHtml(m.vendor)} · #${m.rank + 1}</div></td>` +
  `<td>${escapeHtml(m.reason)}${m.servingAsFallback ? `<div class="fallback">serving as a fallback</div>` : ""}</td>` +
  `<td class="num">${seconds(m.recentMs)}<div class="sub">baseline ${seconds(m.baselineMs)}</div></td>` +
  `<td class="num">${percent(m.trafficShare)} %<div class="bar"><span class="w${percent(m.trafficShare)}"></span></div></td>` +
  `<td>${m.breaker}</td>` +
  `</tr>`

// one class per whole percentage: a width set from markup without a `style` attribute
const widths = Array.from({ length: 101 }, (_, i) => `.w${i}{width:${i}%}`).join("")

/** The page's style sheet, served as `status/page.css`. @internal */
export const style = `
body{font:15px/1.4 system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem;color:#1d232a;background:#f6f7f9}
h1{font-size:1.3rem;margin:0 0 .2rem}.updated{color:#667;font-size:.85rem;margin-bottom:1rem}
table{border-collapse:collapse;width:100%;background:#fff;box-shadow:0 1px 3px #0001;border-radius:8px;overflow:hidden}
th,td{padding:.6rem .8rem;text-align:left;border-bottom:1px solid #eceef1;vertical-align:top}
th{font-size:.75rem;text-transform:uppercase;letter-spacing:.04em;color:#667;background:#fafbfc}
.num{text-align:right;white-space:nowrap}.model{font-weight:600}.sub{font-weight:400;color:#778;font-size:.8rem}
.badge{display:inline-block;min-width:6.5rem;text-align:center;padding:.15rem .5rem;border-radius:999px;color:#fff;font-weight:600;font-size:.8rem}
.badge.normal{background:rgb(22,163,74)}.badge.delayed{background:rgb(202,138,4)}.badge.unavailable{background:rgb(220,38,38)}
tr[data-health=unavailable]{background:#fef2f2}tr[data-health=delayed]{background:#fefce8}
.fallback{color:#1d4ed8;font-size:.8rem;font-weight:600}
.bar{height:4px;background:#eceef1;border-radius:2px;margin-top:4px}.bar span{display:block;height:4px;background:#64748b;border-radius:2px}
#notes{list-style:none;padding:0;margin:0 0 1rem}#notes li{background:#eff6ff;border-left:4px solid #2563eb;padding:.5rem .8rem;margin-bottom:.4rem;border-radius:4px}
#notes li.outage{background:#fef2f2;border-color:#dc2626}
form.login{background:#fff;box-shadow:0 1px 3px #0001;border-radius:8px;padding:1rem;max-width:24rem}
form.login input{font:inherit;padding:.3rem .5rem;width:100%;box-sizing:border-box;margin:.4rem 0 .6rem}
form.login .error{color:#b91c1c;font-weight:600}
${widths}
`

/** The page's script, served as `status/page.js`. @internal */
export const script = `
(function(){
  var fmt=function(ms){return ms==null?"–":(ms/1000).toFixed(1)+" s"};
  function el(tag,cls,text){var e=document.createElement(tag);if(cls)e.className=cls;if(text!=null)e.textContent=text;return e}
  function render(s){
    var notes=document.getElementById("notes");notes.textContent="";
    s.notes.forEach(function(n){var li=el("li",n.indexOf("outage")>=0||n.indexOf("every model")>=0?"outage":"",n);notes.appendChild(li)});
    var body=document.getElementById("models");body.textContent="";
    s.models.forEach(function(m){
      var tr=el("tr");tr.setAttribute("data-model",m.model);tr.setAttribute("data-health",m.health);
      var c1=el("td");c1.appendChild(el("span","badge "+m.health,m.health));tr.appendChild(c1);
      var c2=el("td","model",m.model);c2.appendChild(el("div","sub",m.vendor+" · #"+(m.rank+1)));tr.appendChild(c2);
      var c3=el("td",null,m.reason);if(m.servingAsFallback)c3.appendChild(el("div","fallback","serving as a fallback"));tr.appendChild(c3);
      var c4=el("td","num",fmt(m.recentMs));c4.appendChild(el("div","sub","baseline "+fmt(m.baselineMs)));tr.appendChild(c4);
      var pct=Math.min(100,Math.max(0,Math.round(m.trafficShare*100)));var c5=el("td","num",pct+" %");var bar=el("div","bar");bar.appendChild(el("span","w"+pct));c5.appendChild(bar);tr.appendChild(c5);
      tr.appendChild(el("td",null,m.breaker));
      body.appendChild(tr);
    });
    document.getElementById("updated").textContent="updated "+new Date(s.at).toISOString();
  }
  var polling=null;
  function poll(){if(polling)return;polling=setInterval(function(){fetch("status").then(function(r){return r.json()}).then(render).catch(function(){})},5000)}
  if(window.EventSource){
    var es=new EventSource("status/events");
    es.onmessage=function(e){try{render(JSON.parse(e.data))}catch(_){}};
    es.onerror=function(){if(es.readyState===2)poll()};
  } else poll();
})();
`

/**
 * The policy every response of the status server carries: nothing may load
 * but the page's own style sheet and script, and the only connections it may
 * open are to its own origin (`fetch("status")`, `EventSource("status/events")`).
 * No inline script or style, no frames, no forms but the login form to
 * itself, and no `<base>` to redirect relative URLs.
 *
 * @internal
 */
export const contentSecurityPolicy = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'"
].join("; ")

const head = (title: string) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(title)}</title><link rel="stylesheet" href="status/page.css"></head>`

/**
 * The page a browser without the token gets: a form that posts the token to
 * `status/login` (in the body, so that it never appears in a URL, a history
 * entry or a proxy's log), which answers with a session cookie.
 *
 * @internal
 */
export const loginPage = (title: string, rejected: boolean): string => `${head(title)}
<body><h1>${escapeHtml(title)}</h1>
<form class="login" method="post" action="status/login">
<label for="token">This status page needs its access token.</label>
<input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
${rejected ? `<div class="error">That token is not right.</div>` : ""}<button type="submit">Open the status page</button>
</form></body></html>`

/** The whole page for a snapshot. @internal */
export const page = (snapshot: StatusSnapshot, title: string): string => `${head(title)}
<body><h1>${escapeHtml(title)}</h1><div class="updated" id="updated">updated ${new Date(snapshot.at).toISOString()}</div>
<ul id="notes">${snapshot.notes.map((n) => `<li${/outage|every model/.test(n) ? ` class="outage"` : ""}>${escapeHtml(n)}</li>`).join("")}</ul>
<table><thead><tr><th>status</th><th>model</th><th>why</th><th class="num">latency</th><th class="num">traffic</th><th>breaker</th></tr></thead>
<tbody id="models">${snapshot.models.map(row).join("")}</tbody></table>
<script src="status/page.js" defer></script></body></html>`
