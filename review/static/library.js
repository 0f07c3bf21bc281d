// The library: every recording in OUTDIR and a search across all transcripts.
"use strict";
(() => {
  const body = document.querySelector("#recordings tbody");
  const hits = document.getElementById("hits");
  const link = (id, t) => `/t/${encodeURI(id)}` + (t !== undefined ? `#t=${t.toFixed(2)}` : "");

  async function loadLibrary() {
    const data = await TS.getJSON("/api/library");
    if (!data.recordings.length) {
      body.innerHTML = `<tr><td colspan="7" class="muted">No transcripts in ${TS.esc(data.outdir)} yet.</td></tr>`;
      return;
    }
    body.innerHTML = data.recordings.map((r) => `
      <tr class="rec state-${TS.esc(r.state)}">
        <td>${r.id ? `<a href="${link(r.id)}">${TS.esc(r.name)}</a>` : TS.esc(r.name)}</td>
        <td class="num">${r.duration_s == null ? "" : TS.clock(r.duration_s)}</td>
        <td>${r.speakers.map(TS.esc).join(", ")}</td>
        <td class="num">${r.words}</td><td class="num">${r.marks}</td><td class="num">${r.corrections}</td>
        <td><span class="state">${TS.esc(r.state)}</span>${r.quality.length ? ` <span class="warn" title="${TS.esc(r.quality.join("\n"))}">⚠ ${TS.esc(r.quality.length === 1 ? r.quality[0].split(":")[0] : `${r.quality.length} quality warnings`)}</span>` : ""}${r.error ? ` <span class="err" title="${TS.esc(r.error)}">${TS.esc(r.error.slice(0, 80))}</span>` : ""}</td>
      </tr>`).join("");
  }

  document.getElementById("search").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const q = document.getElementById("q").value.trim();
    if (!q) { hits.innerHTML = ""; return; }
    const data = await TS.getJSON(`/api/search?q=${encodeURIComponent(q)}`);
    const groups = new Map();
    for (const h of data.hits) {
      if (!groups.has(h.id)) groups.set(h.id, []);
      groups.get(h.id).push(h);
    }
    const n = data.hits.length;
    hits.innerHTML = `<h2>${n}${n >= data.limit ? "+" : ""} match${n === 1 ? "" : "es"} for “${TS.esc(q)}”</h2>` +
      [...groups].map(([id, list]) => `<details class="hit-group"${list.length <= 5 ? " open" : ""}>
        <summary><b>${TS.esc(id)}</b> · ${list.length} match${list.length === 1 ? "" : "es"}</summary>
        <ol class="hits">` + list.map((h) => `
        <li><a href="${link(h.id, h.start_s)}">${TS.clock(h.start_s)} ${TS.esc(h.speaker)}:</a>
        …${TS.esc(h.before)}<mark>${TS.esc(h.match)}</mark>${TS.esc(h.after)}…</li>`).join("") + `</ol></details>`).join("");
  });

  loadLibrary().catch((e) => { body.innerHTML = `<tr><td colspan="7" class="err">${TS.esc(e.message)}</td></tr>`; });
})();
