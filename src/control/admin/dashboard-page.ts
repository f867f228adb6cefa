/**
 * The dashboard (admin `GET /`): one self-contained page, no framework and no external asset.
 * Its script polls `GET /graph` and `GET /status` (same origin) and renders with DOM APIs only —
 * with the admin token, when the server has one, asked for once and kept in the tab's
 * sessionStorage, sent as `Authorization: Bearer` (no cookie, so no cross-site request carries it) —
 * text goes in through `textContent`, never markup — so the strict CSP below (scripts and styles
 * allowed by hash only, connections to the page's own origin only) holds.
 */
import { createHash } from 'node:crypto';

const STYLE = `
body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#1d2733;background:#f5f7fa}
header{background:#1d2733;color:#fff;padding:10px 18px;display:flex;gap:18px;align-items:baseline}
header h1{font-size:18px;margin:0}header span{opacity:.8;font-size:12px}
main{padding:12px 18px;display:grid;gap:16px}
section{background:#fff;border:1px solid #d8dee6;border-radius:6px;padding:10px 14px;overflow:auto}
h2{font-size:15px;margin:0 0 8px}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:3px 8px;border-bottom:1px solid #eef1f5;font-size:13px;vertical-align:top}
th{color:#556;font-weight:600}td.num{text-align:right;font-variant-numeric:tabular-nums}
.SYNCED{color:#1a7f37}.NACK{color:#c62828;font-weight:600}.STALE{color:#b26a00}.NOT_SENT{color:#777}
.err{color:#c62828}.muted{color:#777}
svg text{font-size:12px}svg .node rect{fill:#e8f0fe;stroke:#3a6ea5}svg .node.service rect{fill:#fff;stroke-dasharray:4 3}
svg .edge line{stroke:#6b7c93;stroke-width:1.5}svg .edge.bad line{stroke:#c62828}svg .edge text{fill:#334}
`;

const SCRIPT = `
(function(){
'use strict';
var SVGNS='http://www.w3.org/2000/svg';
function el(tag,attrs,text){var e=document.createElement(tag);for(var k in attrs||{})e.setAttribute(k,attrs[k]);if(text!==undefined)e.textContent=String(text);return e;}
function svg(tag,attrs,text){var e=document.createElementNS(SVGNS,tag);for(var k in attrs||{})e.setAttribute(k,String(attrs[k]));if(text!==undefined)e.textContent=String(text);return e;}
function rows(tbody,list){tbody.replaceChildren.apply(tbody,list);}
function td(text,cls){var c=el('td',cls?{'class':cls}:{},text);return c;}
function label(n){return n.service+(n.version?' '+n.version:'');}
function pct(x){return (x*100).toFixed(1)+'%';}
function ms(x){return x===null?'-':x+' ms';}
function layout(g){
  var depth={},incoming={};g.nodes.forEach(function(n){depth[n.id]=0;incoming[n.id]=0;});
  g.edges.forEach(function(e){incoming[e.target]=(incoming[e.target]||0)+1;});
  for(var i=0;i<g.nodes.length;i++){var moved=false;g.edges.forEach(function(e){if(e.source!==e.target&&depth[e.target]<depth[e.source]+1&&depth[e.source]<g.nodes.length){depth[e.target]=depth[e.source]+1;moved=true;}});if(!moved)break;}
  var cols={},pos={};g.nodes.forEach(function(n){var d=depth[n.id]||0;(cols[d]=cols[d]||[]).push(n);});
  Object.keys(cols).forEach(function(d){cols[d].forEach(function(n,i){pos[n.id]={x:20+d*330,y:20+i*90};});});
  return pos;
}
function drawGraph(g){
  var box=document.getElementById('graph');var pos=layout(g);
  var w=0,h=0;Object.keys(pos).forEach(function(k){w=Math.max(w,pos[k].x+180);h=Math.max(h,pos[k].y+60);});
  var s=svg('svg',{width:Math.max(w,300),height:Math.max(h,80),role:'img','aria-label':'service graph'});
  g.edges.forEach(function(e){var a=pos[e.source],b=pos[e.target];if(!a||!b)return;
    var grp=svg('g',{'class':'edge'+(e.errorRate>0?' bad':''),'data-source':e.source,'data-target':e.target});
    grp.appendChild(svg('line',{x1:a.x+160,y1:a.y+20,x2:b.x,y2:b.y+20}));
    var mx=(a.x+160+b.x)/2,my=(a.y+b.y)/2+20;
    grp.appendChild(svg('text',{x:mx,y:my-6,'text-anchor':'middle'},e.rps+' rps, '+pct(e.errorRate)+' err'));
    grp.appendChild(svg('text',{x:mx,y:my+12,'text-anchor':'middle'},'p50 '+ms(e.p50Ms)+', p99 '+ms(e.p99Ms)));
    s.appendChild(grp);});
  g.nodes.forEach(function(n){var p=pos[n.id];var grp=svg('g',{'class':'node'+(n.version?'':' service'),'data-node':n.id});
    grp.appendChild(svg('rect',{x:p.x,y:p.y,width:160,height:40,rx:6}));
    grp.appendChild(svg('text',{x:p.x+8,y:p.y+17},label(n)));
    grp.appendChild(svg('text',{x:p.x+8,y:p.y+33,'class':'muted'},n.namespace));
    s.appendChild(grp);});
  box.replaceChildren(s);
  var names={};g.nodes.forEach(function(n){names[n.id]=label(n);});
  rows(document.getElementById('edges'),g.edges.map(function(e){var r=el('tr',{'data-source':names[e.source],'data-target':names[e.target],'data-rps':e.rps});
    [names[e.source],names[e.target],e.protocol].forEach(function(t){r.appendChild(td(t));});
    r.appendChild(td(e.rps,'num rps'));r.appendChild(td(pct(e.errorRate),'num'+(e.errorRate>0?' err':'')));r.appendChild(td(ms(e.p50Ms),'num'));r.appendChild(td(ms(e.p99Ms),'num'));r.appendChild(td(e.requests,'num'));
    r.appendChild(td(Object.keys(e.codes).map(function(c){return c+': '+e.codes[c];}).join(', ')));return r;}));
  document.getElementById('window').textContent='window '+g.windowSeconds+' s, from '+g.reporter+' reports; '+g.scrape.rounds+' scrape rounds every '+g.scrape.intervalMs+' ms';
  rows(document.getElementById('targets'),g.scrape.targets.map(function(t){var r=el('tr');[t.target,t.client].forEach(function(x){r.appendChild(td(x));});
    r.appendChild(td(t.ok?(t.truncated?'up (series over the limit: partly counted)':'up'):t.error,t.ok&&!t.truncated?'SYNCED':'err'));r.appendChild(td(t.series,'num'));r.appendChild(td(t.bytes,'num'));r.appendChild(td(t.durationMs+' ms','num'));return r;}));
}
function state(t){if(!t||t.sentVersion===undefined)return 'NOT_SENT';if(t.nack&&t.ackedVersion!==t.sentVersion)return 'NACK';if(t.pending||t.ackedVersion!==t.sentVersion)return 'STALE';return 'SYNCED';}
function drawStatus(st){
  document.getElementById('version').textContent='config '+(st.version||'-');
  rows(document.getElementById('clients'),st.clients.map(function(c){var r=el('tr',{'data-client':c.id});
    r.appendChild(td(c.id));r.appendChild(td(c.announced?c.announced.service+'.'+c.announced.namespace:(c.metrics&&c.metrics.service)||'-'));
    r.appendChild(td(c.identity?c.identity.spiffeId:'none (plaintext)',c.identity?'':'muted'));
    ['LDS','RDS','CDS','EDS'].forEach(function(k){var t=c.types[k];var s=state(t);var cell=td(s==='NOT_SENT'?'NOT SENT':s,s);
      if(t&&t.ackedVersion)cell.appendChild(el('div',{'class':'muted'},'acked '+t.ackedVersion));
      if(s==='NACK')cell.appendChild(el('div',{'class':'err'},t.nack.message));r.appendChild(cell);});return r;}));
  var errs=document.getElementById('errors');
  rows(errs,st.configErrors.length?st.configErrors.map(function(d){return el('li',{'class':d.severity==='error'?'err':''},(d.file?d.file+(d.line?':'+d.line:'')+': ':'')+d.severity+' '+d.code+': '+d.message);}):[el('li',{'class':'muted'},'none')]);
}
var KEY='meshlet-admin-token';
function token(){try{return sessionStorage.getItem(KEY)||'';}catch(e){return '';}}
function askToken(){document.getElementById('login').hidden=false;}
document.getElementById('login-go').addEventListener('click',function(){var v=document.getElementById('login-token').value;try{sessionStorage.setItem(KEY,v);}catch(e){}
  document.getElementById('login').hidden=true;document.getElementById('login-token').value='';});
function get(path){var t=token();return fetch(path,{cache:'no-store',headers:t?{authorization:'Bearer '+t}:{}}).then(function(r){if(r.status===401){askToken();throw new Error('the admin API needs its token');}
  if(!r.ok)throw new Error(path+': HTTP '+r.status);return r.json();});}
function tick(){Promise.all([get('/graph'),get('/status')]).then(function(v){drawGraph(v[0]);drawStatus(v[1]);
  document.getElementById('updated').textContent='updated '+new Date().toLocaleTimeString();document.body.setAttribute('data-ready','1');})
  .catch(function(e){document.getElementById('updated').textContent=String(e.message);}).then(function(){setTimeout(tick,2000);});}
tick();
})();
`;

const BODY = `<header><h1>meshlet</h1><span id="version"></span><span id="updated">loading…</span></header>
<main>
<section id="login" hidden><h2>Admin token</h2><p>This control server's admin API needs its token (kept in this tab only).</p>
<input id="login-token" type="password" autocomplete="off" aria-label="admin token"> <button id="login-go" type="button">Use token</button></section>
<section><h2>Service graph</h2><div id="graph"></div><p class="muted" id="window"></p>
<table><thead><tr><th>source</th><th>destination</th><th>protocol</th><th>rps</th><th>errors</th><th>p50</th><th>p99</th><th>requests</th><th>codes</th></tr></thead><tbody id="edges"></tbody></table></section>
<section><h2>Clients: xDS sync and identity</h2><table><thead><tr><th>node</th><th>service</th><th>identity</th><th>LDS</th><th>RDS</th><th>CDS</th><th>EDS</th></tr></thead><tbody id="clients"></tbody></table></section>
<section><h2>Config analysis: errors and warnings</h2><ul id="errors"></ul></section>
<section><h2>Scrape targets</h2><table><thead><tr><th>target</th><th>client</th><th>state</th><th>series</th><th>bytes</th><th>took</th></tr></thead><tbody id="targets"></tbody></table></section>
</main>`;

const sha = (s: string) => `'sha256-${createHash('sha256').update(s).digest('base64')}'`;

/**
 * The page and the headers it must be served with (the CSP carries the hashes of its one script
 * and one style, computed here so they always match).
 *
 * @example
 * ```ts
 * res.writeHead(200, DASHBOARD.headers);
 * res.end(DASHBOARD.html);
 * ```
 */
export const DASHBOARD = Object.freeze({
  html: `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>meshlet dashboard</title><style>${STYLE}</style></head><body>${BODY}<script>${SCRIPT}</script></body></html>`,
  headers: Object.freeze({
    'content-type': 'text/html; charset=utf-8',
    'content-security-policy': `default-src 'none'; script-src ${sha(SCRIPT)}; style-src ${sha(STYLE)}; connect-src 'self'; img-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'cache-control': 'no-store',
  }),
});
