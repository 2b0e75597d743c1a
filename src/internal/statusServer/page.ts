/**
 * The status page: server-rendered from a snapshot (works without script),
 * then kept live from `/status/events` (falls back to polling `/status`).
 * Everything inline; every string escaped.
 *
 * @internal
 */
import type { ModelHealth, StatusSnapshot } from "../../ModelStatus.js"

/** @internal */
export const escapeHtml = (text: string): string =>
  text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;", "'": "&#39;" })[c]!)

const seconds = (ms: number | undefined) => (ms === undefined ? "–" : `${(ms / 1000).toFixed(1)} s`)

const row = (m: ModelHealth): string =>
  `<tr data-model="${escapeHtml(m.model)}" data-health="${m.health}">` +
  `<td><span class="badge ${m.health}">${m.health}</span></td>` +
  `<td class="model">${escapeHtml(m.model)}<div class="sub">${escapeHtml(m.vendor)} · #${m.rank + 1}</div></td>` +
  `<td>${escapeHtml(m.reason)}${m.servingAsFallback ? `<div class="fallback">serving as a fallback</div>` : ""}</td>` +
  `<td class="num">${seconds(m.recentMs)}<div class="sub">baseline ${seconds(m.baselineMs)}</div></td>` +
  `<td class="num">${Math.round(m.trafficShare * 100)} %<div class="bar"><span style="width:${Math.round(m.trafficShare * 100)}%"></span></div></td>` +
  `<td>${m.breaker}</td>` +
  `</tr>`

const style = `
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
`

const script = `
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
      var pct=Math.round(m.trafficShare*100);var c5=el("td","num",pct+" %");var bar=el("div","bar");var fill=el("span");fill.style.width=pct+"%";bar.appendChild(fill);c5.appendChild(bar);tr.appendChild(c5);
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

/** The whole page for a snapshot. @internal */
export const page = (snapshot: StatusSnapshot, title: string): string => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(title)}</title><style>${style}</style></head>
<body><h1>${escapeHtml(title)}</h1><div class="updated" id="updated">updated ${new Date(snapshot.at).toISOString()}</div>
<ul id="notes">${snapshot.notes.map((n) => `<li${/outage|every model/.test(n) ? ` class="outage"` : ""}>${escapeHtml(n)}</li>`).join("")}</ul>
<table><thead><tr><th>status</th><th>model</th><th>why</th><th class="num">latency</th><th class="num">traffic</th><th>breaker</th></tr></thead>
<tbody id="models">${snapshot.models.map(row).join("")}</tbody></table>
<script>${script}</script></body></html>`
