// The transcript page: listen, read, see the prosody, correct.
// Edits name ORIGINAL word and mark indices (D.words.orig, D.marks[k].orig); the server applies
// them in order and answers with the corrected transcript, which is drawn again.
"use strict";
(() => {
  const RID = document.body.dataset.rid;
  const API = `/api/transcript/${encodeURI(RID)}`;
  const $ = (id) => document.getElementById(id);
  const audio = $("audio"), linesBox = $("lines"), tip = $("tip"), statusEl = $("status");
  let D = null;            // the view model from the server
  let byStart = [];        // word indices sorted by start time (reading order differs under overlaps)
  let wordEls = [];        // corrected word index -> its span
  let lineOf = [];         // corrected word index -> line index
  let current = -1;        // highlighted word
  let selected = -1;       // word chosen by a click (for split / reassign / edit)
  let editing = 0;         // open editors: no redraw from polling while > 0
  let pinnedMark = -1;
  let cursorMark = -1;     // the mark stepped to with N / P (index in D.marks)
  let stopAt = null;       // a mark's stretch being played stops here
  let userScrollUntil = 0;
  const perf = (window.tsPerf = { navigation_to_data_ms: null, first_render_ms: null, tracks_ms: null, renders: 0 });

  audio.preservesPitch = true;   // speed changes keep the voice's pitch
  audio.mozPreservesPitch = true;

  // ------------------------------------------------------------------ loading and drawing
  let T = null;            // what corrections never change: tracks and marks' evidence (sent once)

  async function load() {
    const tracks = TS.getJSON(`${API}/tracks`);
    const data = await TS.getJSON(API);
    perf.navigation_to_data_ms = performance.now();
    show(data);
    T = await tracks;
    perf.tracks_ms = performance.now();
    observeProsody();
  }

  function show(data) {
    D = data;
    byStart = D.words.start.map((_, i) => i).sort((a, b) => D.words.start[a] - D.words.start[b]);
    renderQuality();
    renderSpeakers();
    renderTextViewChoices();
    renderLines();
    renderSelection();
    $("undo").disabled = !D.edits.length;
    renderHistory();
    renderMarkBar();
    $("seek").max = audio.duration || D.audio.duration_s || 1;
    if (D.skipped.length) setStatus(`${D.skipped.length} correction(s) no longer match this transcript and are not shown`);
    perf.renders += 1;
    if (perf.first_render_ms === null) {
      perf.first_render_ms = performance.now();
      performance.mark("ts-first-render");
      seekFromHash();
    }
  }

  function speaker(id) { return D.speakers.find((s) => s.id === id) || { id, label: id || "?", color: "#666" }; }

  function renderSpeakers() {
    $("speakers").innerHTML = D.speakers.map((s) => `
      <label class="spk-chip" style="--c:${s.color}"><span class="swatch"></span>
        <input class="spk-name" data-spk="${TS.esc(s.id)}" value="${TS.esc(s.label)}" aria-label="Name of ${TS.esc(s.id)}" size="${Math.max(6, s.label.length + 1)}">
        <span class="muted">${TS.esc(s.id)}${s.median_hz ? ` · ${s.median_hz} Hz` : ""}</span></label>`).join("") +
      "";
  }

  function renderQuality() {  // what about the recording makes some marks less sure (capture/quality.py)
    const warnings = D.quality || [];
    $("quality").hidden = !warnings.length;
    $("quality").innerHTML = warnings.map((w) => `<li>${TS.esc(w)}</li>`).join("");
  }

  function renderTextViewChoices() {
    $("textviews").innerHTML = D.renderers.map(([name, label]) =>
      `<label><input type="radio" name="view" value="${TS.esc(name)}"> ${TS.esc(label)}</label>`).join("");
    const wanted = sessionStorage.getItem(`view:${RID}`);
    const input = document.querySelector(`input[name=view][value="${CSS.escape(wanted || "words")}"]`);
    if (input) { input.checked = true; if (wanted && wanted !== "words") showTextView(wanted); }
  }

  function pauseBetween(a, b) {
    // the pause lying between the middles of words a and b (binary search over start times)
    const P = D.pauses, lo = (D.words.start[a] + D.words.end[a]) / 2, hi = (D.words.start[b] + D.words.end[b]) / 2;
    let l = 0, r = P.length;
    while (l < r) { const m = (l + r) >> 1; if (P[m].start_s < lo - 1e-6) l = m + 1; else r = m; }
    return l < P.length && P[l].end_s <= hi + 1e-6 ? P[l] : null;
  }

  // Pause-like marks sit on the pause between their two words; the others on their words.
  const PAUSE_MARKS = new Set(["pause", "gap", "latch", "latching"]);
  const SIGNS = {
    intonation: { rise: "↗", slight_rise: "↗·", level: "→", slight_fall: "↘·", fall: "↘" },
    pitch_step: { up: "↑", down: "↓" },
  };
  const ABBREV = { emphasis: "emph", loud: "loud", quiet: "°quiet°", lengthening: "::", tempo: "tempo", overlap: "[ ]", latch: "=", latching: "=" };
  function sign(m) { return (SIGNS[m.type] || {})[m.value] || ABBREV[m.type] || m.type; }
  function markLabel(m) { return `${m.type}${typeof m.value === "string" ? " " + m.value : ""}, ${m.status}`; }

  // A word as the Jefferson transcript writes it inside: its accented syllable underlined
  // (``syllable``: [start, end) in code points, as the server counts them) and a lengthening mark's
  // colons after the held sound (``colons``: [offset, how many]). The colons are not the word's
  // text (corrections edit D.words.text; copying or searching the page finds the word), so CSS
  // draws them from the empty span's data-colons.
  function wordHtml(text, syllable, colons) {
    const letters = Array.from(text);
    const cut = new Set([0, letters.length, ...(syllable || []), ...(colons ? [colons[0]] : [])]);
    const edges = [...cut].filter((k) => k >= 0 && k <= letters.length).sort((x, y) => x - y);
    let html = "";
    for (let j = 0; j < edges.length; j++) {
      const k = edges[j];
      if (colons && k === colons[0]) html += `<span class="held" data-colons="${":".repeat(colons[1])}"></span>`;
      if (j + 1 === edges.length) break;
      const piece = TS.esc(letters.slice(k, edges[j + 1]).join(""));
      html += syllable && k >= syllable[0] && k < syllable[1] ? `<span class="acc">${piece}</span>` : piece;
    }
    return html;
  }

  function renderLines() {
    const W = D.words, marksByLast = new Map(), markedWords = new Set(), pauseMarks = new Map();
    const accents = new Map(), held = new Map();
    D.marks.forEach((m, k) => {
      if (m.first === null) return;
      if (m.syllable && m.status !== "rejected") accents.set(m.first, m.syllable);
      if (m.colon_at !== null && m.colon_at !== undefined && m.status !== "rejected") {
        held.set(m.first, [m.colon_at, Math.min(3, Math.max(1, parseInt(m.value, 10) || 1))]);
      }
      if (PAUSE_MARKS.has(m.type)) { pauseMarks.set(`${m.first}:${m.last}`, k); return; }
      if (!marksByLast.has(m.last)) marksByLast.set(m.last, []);
      marksByLast.get(m.last).push(k);
      if (m.status !== "rejected") for (let i = m.first; i <= m.last; i++) markedWords.add(i);
    });
    const pauseToken = (p, a, b, tag, cls) => {
      const k = pauseMarks.get(`${a}:${b}`);
      pauseMarks.delete(`${a}:${b}`);
      const text = p ? `(${p.duration_s.toFixed(1)})` : sign(D.marks[k]);
      if (k === undefined) return `<${tag} class="${cls}" title="pause ${p.duration_s.toFixed(2)} s">${text}</${tag}>`;
      const m = D.marks[k];
      return `<${tag} class="${cls} pmark st-${m.status}" data-m="${k}" tabindex="0" aria-label="${TS.esc(markLabel(m))}">${text}</${tag}>`;
    };
    const overlapped = (i) => D.overlaps.some((o) => W.start[i] < o.end_s && W.end[i] > o.start_s);
    const html = [];
    lineOf = new Array(W.text.length);
    D.lines.forEach((L, k) => {
      if (k > 0) {
        const a = D.lines[k - 1].last, gap = pauseBetween(a, L.first);
        if (gap || pauseMarks.has(`${a}:${L.first}`)) html.push(pauseToken(gap, a, L.first, "div", "gap"));
      }
      const s = speaker(L.speaker);
      const parts = [];
      for (let i = L.first; i <= L.last; i++) {
        lineOf[i] = k;
        if (i > L.first) {
          const p = pauseBetween(i - 1, i);
          if (p || pauseMarks.has(`${i - 1}:${i}`)) parts.push(pauseToken(p, i - 1, i, "span", "pause"));
        }
        const cls = "w" + (markedWords.has(i) ? " mk" : "") + (W.p[i] < 0.5 ? " low" : "") +
          (D.overlaps.length && overlapped(i) ? " ov" : "");
        parts.push(`<span class="${cls}" data-i="${i}">${wordHtml(W.text[i], accents.get(i), held.get(i))}</span>`);
        for (const mk of marksByLast.get(i) || []) {
          const m = D.marks[mk];
          parts.push(`<button type="button" class="mark st-${m.status}" data-m="${mk}" aria-label="${TS.esc(markLabel(m))}">${TS.esc(sign(m))}</button>`);
        }
      }
      const options = D.speakers.map((sp) => `<option value="${TS.esc(sp.id)}"${sp.id === L.speaker ? " selected" : ""}>${TS.esc(sp.label)}</option>`).join("");
      html.push(`<section class="line" id="L${k}" data-k="${k}" style="--c:${s.color}">
        <div class="head"><button type="button" class="time" data-t="${L.start_s}" title="Play from here">${TS.clock(L.start_s)}</button>
          <span class="who">${TS.esc(s.label)}</span>
          <select class="reassign" aria-label="Speaker of this turn">${options}<option value="__new">New speaker…</option></select>
          ${k > 0 ? `<button type="button" class="merge" title="Join this turn to the one before">⤒ join</button>` : ""}
          <button type="button" class="note-btn" title="Add a note to this line">✎ note</button></div>
        <p class="words">${parts.join(" ")}</p>
        ${L.note ? `<div class="note">${TS.esc(L.note)}</div>` : ""}
        <div class="prosody" data-k="${k}"></div>
      </section>`);
    });
    linesBox.innerHTML = html.join("") || `<p class="muted">No words were recognised in this recording.</p>`;
    wordEls = new Array(W.text.length);
    linesBox.querySelectorAll("span.w").forEach((el) => { wordEls[+el.dataset.i] = el; });
    current = -1;
    observeProsody();
  }

  let observer = null, prosodyIndex = null, stripWidth = 0;
  function observeProsody() {
    if (observer) observer.disconnect();
    if (!T) return;  // drawn once the tracks have arrived
    prosodyIndex = TSProsody.index(D);
    const first = linesBox.querySelector(".prosody");
    stripWidth = first ? first.clientWidth : 0;
    observer = new IntersectionObserver((entries) => {
      for (const e of entries) {
        if (!e.isIntersecting) continue;
        TSProsody.draw(e.target, D, T, D.lines[+e.target.dataset.k], PAUSE_MARKS, sign, prosodyIndex, stripWidth);
        observer.unobserve(e.target);
      }
    }, { rootMargin: "800px 0px" });
    linesBox.querySelectorAll(".prosody").forEach((el) => observer.observe(el));
  }

  // ------------------------------------------------------------------ playback
  function wordAt(t) {
    let l = 0, r = byStart.length;
    while (l < r) { const m = (l + r) >> 1; if (D.words.start[byStart[m]] <= t) l = m + 1; else r = m; }
    for (let k = l - 1; k >= Math.max(0, l - 4); k--) {
      const i = byStart[k];
      if (t < D.words.end[i]) return i;
    }
    return -1;
  }

  function highlight(i) {
    if (i === current) return;
    if (current >= 0 && wordEls[current]) wordEls[current].classList.remove("current");
    current = i;
    if (i < 0 || !wordEls[i]) return;
    wordEls[i].classList.add("current");
    if ($("follow").checked && Date.now() > userScrollUntil) {
      const r = wordEls[i].getBoundingClientRect(), top = $("bar").getBoundingClientRect().bottom;
      if (r.top < top + 20 || r.bottom > window.innerHeight - 20) {
        wordEls[i].closest(".line").scrollIntoView({ block: "center" });
      }
    }
  }

  let lastCursor = null;
  function tick() {
    const t = audio.currentTime;
    if (D) {
      highlight(wordAt(t));
      const k = current >= 0 ? lineOf[current] : null;
      if (lastCursor !== null && lastCursor !== k) {
        const old = linesBox.querySelector(`.prosody[data-k="${lastCursor}"]`);
        if (old && D.lines[lastCursor]) TSProsody.cursor(old, D.lines[lastCursor], -1);
      }
      if (k !== null && k !== undefined) {
        const box = linesBox.querySelector(`.prosody[data-k="${k}"]`);
        if (box) TSProsody.cursor(box, D.lines[k], t);
        lastCursor = k;
      }
    }
    if (stopAt !== null && t >= stopAt) { stopAt = null; audio.pause(); }
    $("clock").textContent = TS.clock(t);
    if (document.activeElement !== $("seek")) $("seek").value = t;
    if (!audio.paused) requestAnimationFrame(tick);
  }

  function playFrom(t, until = null) {
    stopAt = until;
    audio.currentTime = Math.max(0, t);
    const p = audio.play();
    if (p) p.catch((e) => setStatus(`cannot play: ${e.message}`));
    requestAnimationFrame(tick);
  }

  function toggle() {
    if (audio.paused) playFrom(audio.currentTime); else audio.pause();
  }

  function back() { audio.currentTime = Math.max(0, audio.currentTime - 3); requestAnimationFrame(tick); }

  audio.addEventListener("play", () => { $("play").textContent = "❚❚ Pause"; requestAnimationFrame(tick); });
  audio.addEventListener("pause", () => { $("play").textContent = "▶ Play"; tick(); });
  audio.addEventListener("seeked", () => requestAnimationFrame(tick));
  audio.addEventListener("loadedmetadata", () => { $("seek").max = audio.duration || D?.audio.duration_s || 1; });
  audio.addEventListener("error", () => {
    fetch(audio.src, { headers: { Range: "bytes=0-0" } }).then((r) => r.json()).then((e) => setStatus(e.error || "cannot load the audio"))
      .catch(() => setStatus("cannot load the audio"));
  });
  $("play").addEventListener("click", toggle);
  $("back").addEventListener("click", back);
  $("seek").addEventListener("input", (e) => { audio.currentTime = +e.target.value; requestAnimationFrame(tick); });
  $("speed").addEventListener("change", (e) => { audio.playbackRate = +e.target.value; audio.preservesPitch = true; });
  window.addEventListener("wheel", () => { userScrollUntil = Date.now() + 4000; }, { passive: true });

  function typing(el) {
    return el && (el.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(el.tagName));
  }
  function takesLetters(el) {  // a field where N or A is text (a radio button or a checkbox is not)
    return typing(el) && !(el.tagName === "INPUT" && ["radio", "checkbox", "range", "button"].includes(el.type));
  }

  document.addEventListener("keydown", (e) => {
    const inField = typing(document.activeElement);
    if (e.code === "Space" && (e.ctrlKey || !inField)) { e.preventDefault(); toggle(); }
    else if (e.key === "ArrowLeft" && (e.ctrlKey || !inField)) { e.preventDefault(); back(); }
    else if (e.key === "z" && (e.ctrlKey || e.metaKey) && !inField) { e.preventDefault(); undo(); }
    else if (e.key === "Escape") { unpin(); }
    else if (takesLetters(document.activeElement) || e.ctrlKey || e.metaKey || e.altKey) { /* typing, or another shortcut */ }
    else if (e.key === "n") { e.preventDefault(); stepMark(1, true); }
    else if (e.key === "p") { e.preventDefault(); stepMark(-1, false); }
    else if (REVIEW_KEYS[e.key] && pinnedMark >= 0 && pinnedMark === cursorMark) {
      e.preventDefault();
      reviewMark(cursorMark, REVIEW_KEYS[e.key], e.key !== "u");
    }
  });

  function seekFromHash() {
    const m = /t=([\d.]+)/.exec(location.hash);
    if (!m) return;
    const t = +m[1];
    audio.currentTime = t;
    const i = wordAt(t + 0.01);
    const el = wordEls[i >= 0 ? i : byStart.find((k) => D.words.start[k] >= t)];
    if (el) { el.scrollIntoView({ block: "center" }); select(+el.dataset.i); }
  }

  // ------------------------------------------------------------------ corrections
  function setStatus(text) { statusEl.textContent = text; }

  async function edit(op, args) {
    setStatus("saving…");
    try {
      show(await TS.post(`${API}/edit`, { op, args, by: TS.tab }));
      setStatus("saved");
    } catch (e) { setStatus(`not saved: ${e.message}`); }
  }

  async function undo() {
    try { show(await TS.post(`${API}/undo`, {})); setStatus("undone"); } catch (e) { setStatus(e.message); }
  }
  async function redo() {
    try { show(await TS.post(`${API}/redo`, {})); setStatus("redone"); } catch (e) { setStatus(e.message); }
  }
  function describe(e) {
    const a = e.args, spk = (id) => speaker(id).label;
    switch (e.op) {
      case "word.text": return a.text ? `word → “${a.text}”` : "word deleted";
      case "word.speaker": return `${a.last_word - a.first_word + 1} word(s) → ${spk(a.speaker)}`;
      case "turn.split": return "turn split";
      case "turn.merge": return "turns joined";
      case "speaker.label": return `${a.speaker} named “${a.label}”`;
      case "mark.review": return `${(D.marks.find((m) => m.orig === a.mark) || {}).type || "mark"} ${a.status}`;
      case "line.note": return a.text ? `note “${a.text.slice(0, 30)}”` : "note removed";
      default: return e.op;
    }
  }

  function renderHistory() {
    const list = $("history").querySelector("ol");
    list.innerHTML = D.edits.slice().reverse().map((e) => `<li><span>${TS.esc(describe(e))}</span>
      <span class="muted">${TS.esc((e.at || "").slice(11, 19))}</span>
      <button type="button" data-undo="${TS.esc(e.id)}" title="Undo this correction only">undo</button></li>`).join("") ||
      `<li class="muted">No corrections yet.</li>`;
  }

  $("history").addEventListener("click", async (e) => {
    const b = e.target.closest("button[data-undo]");
    if (!b) return;
    try { show(await TS.post(`${API}/undo`, { id: b.dataset.undo })); setStatus("undone"); } catch (err) { setStatus(err.message); }
  });
  $("undo").addEventListener("click", undo);
  $("redo").addEventListener("click", redo);

  function select(i) {
    selected = i;
    linesBox.querySelectorAll("span.w.sel").forEach((el) => el.classList.remove("sel"));
    if (wordEls[i]) wordEls[i].classList.add("sel");
    renderSelection();
  }

  function renderSelection() {
    const box = $("selection");
    if (!D || selected < 0 || selected >= D.words.text.length) {
      box.innerHTML = `<span class="muted">Click a word to play from it and select it; double-click to correct it. Space plays and pauses, ← goes back 3 s. N: the next mark to review (A accepts it, R rejects it).</span>`;
      return;
    }
    const i = selected, L = D.lines[lineOf[i]];
    const options = D.speakers.map((s) => `<option value="${TS.esc(s.id)}"${s.id === D.words.speaker[i] ? " selected" : ""}>${TS.esc(s.label)}</option>`).join("");
    box.innerHTML = `<b>“${TS.esc(D.words.text[i])}”</b> <span class="muted">${TS.clock(D.words.start[i])}–${TS.clock(D.words.end[i])}, p=${D.words.p[i]}</span>
      <button type="button" id="sel-edit">Correct the word</button>
      ${i > L.first ? `<button type="button" id="sel-split">Split the turn before it</button>` : ""}
      <label>Word spoken by <select id="sel-speaker">${options}<option value="__new">New speaker…</option></select></label>`;
    $("sel-edit").onclick = () => startWordEdit(i);
    if ($("sel-split")) $("sel-split").onclick = () => edit("turn.split", { word: D.words.orig[i] });
    $("sel-speaker").onchange = (e) => {
      const sp = chooseSpeaker(e.target.value);
      if (sp) edit("word.speaker", { first_word: D.words.orig[i], last_word: D.words.orig[i], speaker: sp });
    };
  }

  function chooseSpeaker(value) {
    if (value !== "__new") return value;
    let n = D.speakers.length + 1;
    while (D.speakers.some((s) => s.id === `S${n}`)) n++;
    return `S${n}`;
  }

  function startWordEdit(i) {
    const el = wordEls[i];
    if (!el || el.querySelector("input")) return;
    editing++;
    const input = document.createElement("input");
    input.className = "word-edit"; input.value = D.words.text[i]; input.size = Math.max(4, input.value.length + 2);
    input.setAttribute("aria-label", "Corrected word (empty deletes it)");
    const shown = el.innerHTML;  // the word as drawn (an underlined syllable, colons), put back if unchanged
    el.textContent = ""; el.appendChild(input); input.focus(); input.select();
    let done = false;
    const finish = (save) => {
      if (done) return; done = true; editing--;
      if (save && input.value.trim() !== D.words.text[i]) edit("word.text", { word: D.words.orig[i], text: input.value });
      else el.innerHTML = shown;
    };
    input.addEventListener("keydown", (e) => {
      if (e.key === "Enter") { e.preventDefault(); finish(true); }
      else if (e.key === "Escape") { e.preventDefault(); finish(false); }
      e.stopPropagation();
    });
    input.addEventListener("blur", () => finish(true));
  }

  function startNoteEdit(k) {
    const L = D.lines[k], section = $(`L${k}`);
    if (section.querySelector("textarea")) return;
    editing++;
    const area = document.createElement("textarea");
    area.className = "note-edit"; area.value = L.note; area.rows = 2;
    area.setAttribute("aria-label", "Note on this line");
    (section.querySelector(".note") || section.querySelector(".words")).after(area);
    area.focus();
    let done = false;
    const finish = () => {
      if (done) return; done = true; editing--;
      if (area.value.trim() !== L.note) edit("line.note", { word: L.note_word, text: area.value });
      else area.remove();
    };
    area.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); finish(); }
      else if (e.key === "Escape") { done = true; editing--; area.remove(); }
      e.stopPropagation();
    });
    area.addEventListener("blur", finish);
  }

  linesBox.addEventListener("click", (e) => {
    const w = e.target.closest("span.w, text.wlabel");
    if (w && !e.target.closest("input")) { const i = +w.dataset.i; select(i); playFrom(D.words.start[i]); return; }
    const time = e.target.closest("button.time");
    if (time) { playFrom(+time.dataset.t); return; }
    const k = +(e.target.closest(".line") || {}).dataset?.k;
    if (e.target.closest("button.merge")) { edit("turn.merge", { word: D.words.orig[D.lines[k].first] }); return; }
    if (e.target.closest("button.note-btn")) { startNoteEdit(k); return; }
    const mark = e.target.closest("[data-m]");
    if (mark) { pin(+mark.dataset.m, mark); return; }
  });
  linesBox.addEventListener("dblclick", (e) => {
    const w = e.target.closest("span.w");
    if (w) { e.preventDefault(); startWordEdit(+w.dataset.i); }
  });
  linesBox.addEventListener("change", (e) => {
    if (!e.target.matches("select.reassign")) return;
    const L = D.lines[+e.target.closest(".line").dataset.k], sp = chooseSpeaker(e.target.value);
    edit("word.speaker", { first_word: D.words.orig[L.first], last_word: D.words.orig[L.last], speaker: sp });
  });
  $("speakers").addEventListener("change", (e) => {
    if (!e.target.matches("input.spk-name")) return;
    const label = e.target.value.trim();
    if (label) edit("speaker.label", { speaker: e.target.dataset.spk, label });
  });
  $("speakers").addEventListener("keydown", (e) => {
    if (e.target.matches("input.spk-name") && e.key === "Enter") { e.preventDefault(); e.target.blur(); }
  });

  // ------------------------------------------------------------------ marks: evidence on hover / focus
  function tipHtml(k) {
    const m = D.marks[k];
    const evidence = T ? T.evidence[m.orig] : { "": "loading…" };
    const rows = Object.entries(evidence || {}).map(([key, v]) =>
      `<tr><th>${TS.esc(key)}</th><td>${TS.esc(typeof v === "number" ? +v.toFixed(3) : JSON.stringify(v))}</td></tr>`).join("");
    return `<div class="tip-head"><b>${TS.esc(m.type)}</b>${m.value !== null && m.value !== undefined ? ` = ${TS.esc(JSON.stringify(m.value))}` : ""}
      <span class="muted">${TS.clock(m.start_s)}–${TS.clock(m.end_s)}, confidence ${(+m.confidence).toFixed(2)}</span></div>
      <table class="evidence">${rows || `<tr><td class="muted">no evidence recorded</td></tr>`}</table>
      <div class="tip-actions">status: <b class="mark-status">${m.status}</b>
        <button type="button" data-review="accepted">✓ Accept</button>
        <button type="button" data-review="rejected">✗ Reject</button>
        ${m.status !== "unreviewed" ? `<button type="button" data-review="unreviewed">Reset</button>` : ""}</div>`;
  }

  function place(el) {
    const r = el.getBoundingClientRect();
    tip.style.left = `${Math.min(window.innerWidth - 340, Math.max(4, r.left))}px`;
    tip.style.top = `${r.bottom + 6 + window.scrollY}px`;
  }

  function peek(k, el) {
    if (pinnedMark >= 0) return;
    tip.innerHTML = tipHtml(k); tip.hidden = false; tip.dataset.m = k; place(el);
  }
  function pin(k, el) { pinnedMark = -1; peek(k, el); pinnedMark = k; tip.classList.add("pinned"); }
  function unpin() { pinnedMark = -1; tip.hidden = true; tip.classList.remove("pinned"); }

  linesBox.addEventListener("mouseover", (e) => { const m = e.target.closest("[data-m]"); if (m) peek(+m.dataset.m, m); });
  linesBox.addEventListener("mouseout", (e) => { if (e.target.closest("[data-m]") && pinnedMark < 0) tip.hidden = true; });
  linesBox.addEventListener("focusin", (e) => { const m = e.target.closest("[data-m]"); if (m) peek(+m.dataset.m, m); });
  linesBox.addEventListener("focusout", (e) => { if (e.target.closest("[data-m]") && pinnedMark < 0) tip.hidden = true; });
  tip.addEventListener("click", (e) => {
    const b = e.target.closest("button[data-review]");
    if (!b) return;
    const k = +tip.dataset.m;
    unpin();
    edit("mark.review", { mark: D.marks[k].orig, status: b.dataset.review });
  });
  document.addEventListener("click", (e) => {
    if (pinnedMark >= 0 && !e.target.closest("#tip") && !e.target.closest("[data-m]")) unpin();
  });

  // ------------------------------------------------------------------ marks: one after another
  const REVIEW_KEYS = { a: "accepted", r: "rejected", u: "unreviewed" };

  function markOrder() {  // the marks on the page of the chosen type, in time order
    const type = $("marktype").value;
    return D.marks.map((m, k) => k).filter((k) => D.marks[k].first !== null && (!type || D.marks[k].type === type))
      .sort((a, b) => D.marks[a].start_s - D.marks[b].start_s || a - b);
  }

  function renderMarkBar() {
    const select = $("marktype"), chosen = select.value, counts = new Map();
    D.marks.forEach((m) => { if (m.first !== null) counts.set(m.type, (counts.get(m.type) || 0) + 1); });
    select.innerHTML = `<option value="">all marks (${[...counts.values()].reduce((a, b) => a + b, 0)})</option>` +
      [...counts].sort().map(([type, n]) => `<option value="${TS.esc(type)}">${TS.esc(type)} (${n})</option>`).join("");
    select.value = counts.has(chosen) ? chosen : "";
    const order = markOrder(), open = order.filter((k) => D.marks[k].status === "unreviewed").length;
    $("markcount").textContent = `${order.length - open} of ${order.length} reviewed`;
  }

  // The next mark after the one stepped to (wrapping round), or before it; only unreviewed ones if asked.
  function stepMark(dir, unreviewedOnly) {
    if (linesBox.hidden) { setStatus("marks are stepped through in the Words & prosody view"); return; }
    const order = markOrder(), at = order.indexOf(cursorMark);
    const ahead = dir > 0 ? order.slice(at + 1).concat(order.slice(0, at + 1))
      : order.slice(0, Math.max(at, 0)).reverse().concat(order.slice(Math.max(at, 0)).reverse());
    const k = ahead.find((j) => (!unreviewedOnly || D.marks[j].status === "unreviewed") &&
      linesBox.querySelector(`[data-m="${j}"]`) !== null);  // drawn on the page
    if (k === undefined) { setStatus(order.length ? "every mark here is reviewed" : "no marks here"); return; }
    goToMark(k);
  }

  function goToMark(k) {  // show it with its evidence and play its stretch with a little around it
    const el = linesBox.querySelector(`[data-m="${k}"]`);
    if (!el) return;
    cursorMark = k;
    el.scrollIntoView({ block: "center" });
    userScrollUntil = Date.now() + 4000;
    pin(k, el);
    el.focus({ preventScroll: true });
    const m = D.marks[k];
    playFrom(m.start_s - 0.4, m.end_s + 0.4);
  }

  async function reviewMark(k, status, thenNext) {
    unpin();
    await edit("mark.review", { mark: D.marks[k].orig, status });
    if (thenNext) stepMark(1, true);
  }

  $("nextmark").addEventListener("click", () => stepMark(1, true));
  $("prevmark").addEventListener("click", () => stepMark(-1, false));
  $("marktype").addEventListener("change", () => { cursorMark = -1; renderMarkBar(); $("marktype").blur(); });

  // ------------------------------------------------------------------ views
  async function showTextView(name) {
    sessionStorage.setItem(`view:${RID}`, name);
    const pre = $("textview");
    if (name === "words") { pre.hidden = true; linesBox.hidden = false; return; }
    try {
      const r = await fetch(`${API}/render/${encodeURIComponent(name)}`, { cache: "no-store" });
      pre.textContent = r.ok ? await r.text() : (await r.json()).error;
    } catch (e) { pre.textContent = e.message; }
    pre.dataset.view = name; pre.hidden = false; linesBox.hidden = true;
  }
  document.querySelector(".views").addEventListener("change", (e) => {
    if (e.target.name === "view") showTextView(e.target.value);
  });

  // ------------------------------------------------------------------ other tabs
  setInterval(async () => {
    if (!D || editing > 0 || document.hidden) return;
    try {
      const { version } = await TS.getJSON(`${API}/revision`);
      if (version !== D.version && editing === 0) {
        const transcriptChanged = version.split(".")[1] !== String(D.version).split(".")[1];
        if (transcriptChanged) T = await TS.getJSON(`${API}/tracks`);
        show(await TS.getJSON(API));
        const view = sessionStorage.getItem(`view:${RID}`);
        if (view && view !== "words") showTextView(view);
      }
    } catch (e) { /* the server may be restarting; try again later */ }
  }, 2000);

  load().catch((e) => { linesBox.innerHTML = `<p class="err">${TS.esc(e.message)}</p>`; });
})();
