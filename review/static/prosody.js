// The prosody strip under each line: F0 in semitones relative to the speaker's median (top),
// intensity in dB (bottom), pauses with their durations, overlaps, marks and word boundaries,
// all on one time axis so each curve sits under the word that carries it.
"use strict";
const TSProsody = (() => {
  const BAND_H = 10, ROWS = 3, F0_TOP = BAND_H * ROWS + 4, H = F0_TOP + 84, F0_H = 44, DB_TOP = F0_TOP + 48, DB_H = 20, LABEL_Y = H - 4, ST_RANGE = 12, PX_PER_S = 110;

  // An SVG path through the part of a whole-recording track between a and b seconds, each value
  // passed through f first (null: a gap in the line).
  function path(track, a, b, x, y, f) {
    if (!track) return "";
    const from = Math.max(0, Math.floor((a - track.t0) / track.hop)), to = Math.min(track.v.length, Math.ceil((b - track.t0) / track.hop) + 1);
    let d = "", pen = false;
    for (let k = from; k < to; k++) {
      const v = track.v[k] === null ? null : f(track.v[k]);
      if (v === null || !isFinite(v)) { pen = false; continue; }
      d += (pen ? "L" : "M") + x(track.t0 + k * track.hop).toFixed(1) + " " + y(v).toFixed(1);
      pen = true;
    }
    return d;
  }

  // F0 in semitones relative to the speaker's median (null for unvoiced frames).
  function semitones(hz, median_hz) { return hz > 0 && median_hz > 0 ? 12 * Math.log2(hz / median_hz) : null; }

  function markTitle(m, evidence) {
    const ev = Object.entries(evidence || {}).map(([k, v]) => `${k}: ${typeof v === "number" ? +v.toFixed(3) : JSON.stringify(v)}`);
    return `${m.type}${m.value !== null && m.value !== undefined ? " = " + JSON.stringify(m.value) : ""} (confidence ${(+m.confidence).toFixed(2)}, ${m.status})\n` + ev.join("\n");
  }

  // Which pauses, overlaps and marks touch each line, found once per drawing of the page so that
  // drawing one line does not walk every pause and mark of an hour-long recording.
  function index(D) {
    const byTime = (items) => {
      const out = D.lines.map(() => []);
      const starts = D.lines.map((L) => L.start_s);
      const order = D.lines.map((_, k) => k).sort((a, b) => starts[a] - starts[b]);
      const sorted = order.map((k) => starts[k]);
      let maxDur = 0;
      for (const L of D.lines) maxDur = Math.max(maxDur, L.end_s - L.start_s);
      items.forEach((it, n) => {
        // lines starting before the item ends and ending after it starts
        let hi = 0, l = 0, r = sorted.length;
        while (l < r) { const m = (l + r) >> 1; if (sorted[m] < it.end_s) l = m + 1; else r = m; }
        hi = l;
        for (let j = hi - 1; j >= 0 && sorted[j] >= it.start_s - maxDur; j--) {
          const k = order[j];
          if (D.lines[k].end_s > it.start_s) out[k].push(n);
        }
      });
      return out;
    };
    const marks = D.lines.map(() => []);
    const lineOfWord = new Int32Array(D.words.text.length);
    D.lines.forEach((L, k) => { for (let i = L.first; i <= L.last; i++) lineOfWord[i] = k; });
    const timed = [];
    D.marks.forEach((m, n) => {
      if (m.first === null) { timed.push(n); return; }
      for (let k = lineOfWord[m.first]; k <= lineOfWord[m.last]; k++) marks[k].push(n);
    });
    const timedLines = byTime(timed.map((n) => D.marks[n]));
    timedLines.forEach((list, k) => list.forEach((j) => marks[k].push(timed[j])));
    return { pauses: byTime(D.pauses), overlaps: byTime(D.overlaps), marks };
  }

  // width_px: the strip's visible width, measured once by the caller (reading it per line would
  // force a layout of the whole page for every line drawn).
  function draw(box, D, T, line, pauseTypes, sign, idx, width_px) {
    const t0 = line.start_s, dur = Math.max(0.2, line.end_s - line.start_s);
    const W = Math.max(width_px || box.clientWidth || 640, Math.round(dur * PX_PER_S));
    const x = (t) => ((t - t0) / dur) * W;
    const inside = (a, b) => b > t0 && a < line.end_s;
    const yF0 = (st) => F0_TOP + F0_H / 2 - (Math.max(-ST_RANGE, Math.min(ST_RANGE, st)) / ST_RANGE) * (F0_H / 2);
    const [lo, hi] = T.db_range || [0, 1];
    const yDb = (db) => DB_TOP + DB_H - Math.max(0, Math.min(1, (db - lo) / Math.max(1, hi - lo))) * DB_H;
    const color = (D.speakers.find((s) => s.id === line.speaker) || {}).color || "#444";
    const spk = D.speakers.find((s) => s.id === line.speaker);
    const out = [`<svg class="prosody-svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="pitch and loudness of this turn">`];
    out.push(`<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><line x1="0" y1="0" x2="0" y2="6" class="hatch"/></pattern></defs>`);
    const k = line.k;
    for (const o of idx ? idx.overlaps[k].map((n) => D.overlaps[n]) : D.overlaps) {
      if (!inside(o.start_s, o.end_s)) continue;
      const a = x(Math.max(t0, o.start_s)), b = x(Math.min(line.end_s, o.end_s));
      out.push(`<g class="overlap"><rect x="${a}" y="${F0_TOP}" width="${Math.max(1, b - a)}" height="${DB_TOP + DB_H - F0_TOP}" fill="url(#hatch)"><title>overlap ${TS.clock(o.start_s)}–${TS.clock(o.end_s)}: ${o.speakers.join(" + ")}</title></rect></g>`);
    }
    for (const p of idx ? idx.pauses[k].map((n) => D.pauses[n]) : D.pauses) {
      if (!inside(p.start_s, p.end_s)) continue;
      const a = x(Math.max(t0, p.start_s)), b = x(Math.min(line.end_s, p.end_s));
      out.push(`<g class="pause"><rect x="${a}" y="${F0_TOP}" width="${Math.max(1, b - a)}" height="${DB_TOP + DB_H - F0_TOP}"/>` +
        `<text x="${(a + b) / 2}" y="${DB_TOP - 2}" text-anchor="middle">(${p.duration_s.toFixed(1)})</text><title>pause ${p.duration_s.toFixed(2)} s</title></g>`);
    }
    out.push(`<line class="zero" x1="0" x2="${W}" y1="${yF0(0)}" y2="${yF0(0)}"/>`);
    out.push(`<text class="axis" x="2" y="${F0_TOP + 8}">+12 st</text><text class="axis" x="2" y="${F0_TOP + F0_H}">−12 st</text>`);
    if (spk && spk.median_hz) out.push(`<text class="axis" x="2" y="${yF0(0) - 2}">0 st = ${spk.median_hz} Hz</text>`);
    const words = D.words;
    for (let i = line.first; i <= line.last; i++) {
      const a = x(words.start[i]);
      out.push(`<line class="tick" x1="${a}" x2="${a}" y1="${F0_TOP}" y2="${LABEL_Y - 8}"/>` +
        `<text class="wlabel" data-i="${i}" x="${a + 1}" y="${LABEL_Y}">${TS.esc(words.text[i])}</text>`);
    }
    const median = spk && spk.median_hz;
    out.push(`<path class="db" d="${path(T.db, line.start_s, line.end_s, x, yDb, (v) => v)}"/>`);
    if (median) out.push(`<path class="f0" stroke="${color}" d="${path(T.f0_hz, line.start_s, line.end_s, x, yF0, (v) => semitones(v, median))}"/>`);
    const rowsEnd = new Array(ROWS).fill(-Infinity);
    (idx ? idx.marks[k] : D.marks.map((_, n) => n)).forEach((n) => {
      const m = D.marks[n];
      if (pauseTypes && pauseTypes.has(m.type)) return;  // drawn as the pause itself
      if (m.first === null ? !inside(m.start_s, m.end_s) : m.first > line.last || m.last < line.first) return;
      const a = x(Math.max(t0, m.start_s)), b = x(Math.min(line.end_s, Math.max(m.end_s, m.start_s + 0.05)));
      const label = sign ? sign(m) : m.type;
      const w = Math.max(b - a, 6 + 6 * label.length);
      let row = rowsEnd.findIndex((end) => end <= a);
      if (row < 0) row = rowsEnd.indexOf(Math.min(...rowsEnd));
      rowsEnd[row] = a + w + 2;
      const y = 1 + row * BAND_H;
      out.push(`<g class="mark-band st-${m.status}" data-m="${n}" tabindex="0"><rect x="${a}" y="${y}" width="${Math.max(3, b - a)}" height="${BAND_H - 1}"/>` +
        `<text x="${a + 2}" y="${y + BAND_H - 2}">${TS.esc(label)}</text><title>${TS.esc(markTitle(m, T.evidence[m.orig]))}</title></g>`);
    });
    out.push(`<line class="cursor" x1="-10" x2="-10" y1="0" y2="${H}"/>`);
    out.push(`</svg>`);
    box.innerHTML = out.join("");
    box.dataset.w = W;
  }

  function cursor(box, line, t) {
    const svg = box.firstElementChild;
    if (!svg) return;
    const c = svg.querySelector(".cursor");
    const dur = Math.max(0.2, line.end_s - line.start_s);
    const px = t >= line.start_s && t <= line.end_s ? ((t - line.start_s) / dur) * (+box.dataset.w) : -10;
    c.setAttribute("x1", px); c.setAttribute("x2", px);
  }

  return { draw, cursor, markTitle, index, semitones };
})();
