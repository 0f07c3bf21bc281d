"""The controlled prosody test set: speech whose prosodic marks are known by construction.

(a) synthetic: espeak-ng SSML sentences, each with one manipulated word or stretch (emphasis,
    loud, quiet, pitch up/down, faster/slower, lengthening) and one ``<break>`` of 0.1-2 s, plus
    questions and statements. What espeak-ng 1.51 honours, measured on its output: ``<break>``
    exactly; ``volume="+200%"`` +7.3..+14.3 dB (median +11.3) and ``"x-soft"`` -7.7..-14.8 dB (median -10.8),
    the word's core level (90th percentile of 18 ms frames) over the median of the 4 words on each
    side, seeds 4-8 at ``VOLUME`` 35 (``"x-loud"`` less);
    ``pitch="+60%"``/``"-60%"`` about +5/-4.5 semitones (a raised or lowered word is a target only
    where it then steps at least 3 st from the word before it, as in (b): ``perceptible_step``);
    ``rate`` scales durations; "?" ends in
    a final rise, "." in a fall. An emphasised word is raised moderately on all three cues at
    once, ``<prosody pitch="+40%" rate="70%" volume="+30%">``: measured against the 4 words
    on each side (pYIN 90th-percentile F0, RMS level) on six of the sentences, +2.5..+4.9 st and
    +3.9..+6.1 dB, said 1/0.7 times as long; about what the edited real emphasis does (+2.5 st,
    +5 dB, x1.35). ``<emphasis level="strong">`` (used before, with pitch +25 % and rate 65 %)
    made the word +6..+8 dB louder, as loud as the loud items, while it flattened the pitch
    raise to -0.2..+2.9 st: an "emphasised" word that was mostly a loud one.
    Pause truth is measured from the synthesis (runs of digital silence), not taken from SSML.
    Each manipulated item has a ``_base`` twin without the manipulation, so the bench can tell
    marks caused by the manipulation from espeak-ng's own accents.
(b) edited_real: the LJ Speech recordings of ../shared/corpus (word times from their TextGrids;
    with ``--voices`` also JFK, LibriSpeech 2412-153948-0000 and PTDB-TUG F01 sa1, word times
    from the forced aligner on their reference texts, see ``OTHER_VOICES``, and three speakers'
    long turns of spontaneous talk in the AMI meeting, from their own headset tracks, ``TURNS``)
    edited with sox/numpy: one word +6..10 dB (loud) or -10 dB (quiet), one word pitch-shifted by
    +-4 semitones (sox ``pitch``, length kept; only a word whose jump from the word before it
    then is at least 3 semitones, see ``pitch_step_targets``), a 5-word stretch time-stretched by 25 % slower or
    faster with pitch kept (sox ``tempo``), one word stretched x1.8 (lengthening), one word with
    +5 dB, +2.5 st and x1.35 length together (emphasis); every item also gets one inserted silence
    (0.2-2 s of the recording's own noise floor). Truth times follow the edits.

    python bench/prosody_testset.py --out /tmp/prosody_testset [--corpus ../shared/corpus]
        [--context-sentences 2]   # faster/slower/lengthening items said between 2 plain sentences

writes ``items/*.wav`` and ``manifest.json`` (one entry per item with its truth).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
CORPUS = Path(os.environ.get("TONESCRIBE_CORPUS", REPO.parent / "shared" / "corpus"))


VOICE = "en-us"
# libespeak-ng's volume (0-200, default 100). At 100 a word said at volume="+200%" runs into the
# 16-bit ceiling: measured on four of seed 16's loud items, its loudest part came out only +4.7..+7.7 dB
# over its neighbours, peaking at full scale, instead of +8.6..+12.2 dB with headroom. At 35 the
# loudest word peaks under 0.9 of full scale; everything else is only quieter by the same factor.
VOLUME = 35
SENTENCES = [
    "we walked along the river in the morning and talked about the garden plans for next summer",
    "my sister bought a small red car last week and drove it to the market on saturday",
    "the children played football in the park until the heavy rain started after lunch",
    "our neighbour painted the wooden fence green while the dog was sleeping under the tree",
    "he wrote a long letter to his brother about the journey to the mountains in june",
    "they opened every window because the kitchen was hot and the soup was still cooking",
    "the teacher asked the students to bring their notebooks and pencils to the library",
    "after dinner we listened to the radio and played cards until almost midnight",
]
QUESTIONS = [
    "did you see the letter on the kitchen table this morning?",
    "is your brother coming to the party on saturday?",
    "can we take the early train to the city tomorrow?",
    "have they finished painting the fence in the garden?",
    "was the market open when you walked past it?",
    "do you want another cup of tea with your lunch?",
    "will the children play football in the park today?",
    "has the teacher returned the notebooks to the students?",
    "are the windows still open in the upstairs bedroom?",
    "could you bring the radio down from the attic later?",
]
STATEMENTS = [
    "you saw the letter on the kitchen table this morning.",
    "your brother is coming to the party on saturday.",
    "we can take the early train to the city tomorrow.",
    "they have finished painting the fence in the garden.",
    "the market was open when you walked past it.",
    "you want another cup of tea with your lunch.",
    "the children will play football in the park today.",
    "the teacher has returned the notebooks to the students.",
    "the windows are still open in the upstairs bedroom.",
    "you could bring the radio down from the attic later.",
]
BREAKS_S = (0.1, 0.2, 0.3, 0.5, 0.7, 1.0, 1.5, 2.0)
# mark type -> (SSML open tag, close tag, words in the stretch, value)
SYNTH_KINDS = {
    "emphasis": ('<prosody pitch="+40%" rate="70%" volume="+30%">', "</prosody>", 1, None),
    "loud": ('<prosody volume="+200%">', "</prosody>", 1, None),
    "quiet": ('<prosody volume="x-soft">', "</prosody>", 1, None),
    "pitch_up": ('<prosody pitch="+60%">', "</prosody>", 1, "up"),
    "pitch_down": ('<prosody pitch="-60%">', "</prosody>", 1, "down"),
    "faster": ('<prosody rate="170%">', "</prosody>", 5, "faster"),
    "slower": ('<prosody rate="55%">', "</prosody>", 5, "slower"),
    "lengthening": ('<prosody rate="35%">', "</prosody>", 1, None),
}
MARK_TYPE = {"pitch_up": "pitch_step", "pitch_down": "pitch_step", "faster": "tempo", "slower": "tempo"}
FUNCTION_WORDS = {"the", "a", "and", "to", "of", "in", "on", "at", "it", "was", "his", "our", "we", "he", "my", "for",
                  "until", "after", "while", "about", "their", "every", "because", "is", "be", "by", "has", "been",
                  "all", "which", "that", "this", "with", "as", "not", "could", "an"}


def silent_runs(x: np.ndarray, sr: int, *, min_s: float, level: float = 1e-4) -> list[tuple[float, float]]:
    """Inner runs of digital silence (|x| < level) of at least ``min_s``, in seconds."""
    quiet = np.abs(x) < level
    edges = np.diff(np.concatenate(([0], quiet.astype(np.int8), [0])))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    return [(s / sr, e / sr) for s, e in zip(starts, ends)
            if (e - s) / sr >= min_s and s > 0 and e < len(x)]


def espeak(ssml: str, path: Path, *, volume: int = VOLUME) -> list[tuple[float, float]]:
    """Synthesise SSML with libespeak-ng into ``path``; returns each spoken word's (start, end) in
    seconds, in order, from the library's word events: a word runs to the next event, less
    trailing silence. espeak-ng joins some function words to their neighbour (one event for "in
    the"); such words share the span of the event that covers them (the event with the nearest
    text position at or before the word; some events carry position 0 and are skipped)."""
    text = f"<speak>{ssml}</speak>"
    # In a forked child with a fresh libespeak-ng: the library keeps state from one text to the
    # next (the same SSML came out 125995, 127078 or 126702 samples long after other items, also
    # after espeak_Terminate and espeak_Initialize), so each item must depend on its own text only.
    import multiprocessing

    with multiprocessing.get_context("fork").Pool(1) as pool:
        samples, sr, events = pool.apply(_espeak_library, (text, volume))
    starts = [start for _, start in events]
    sf.write(path, samples, sr, subtype="PCM_16")
    x = samples.astype(np.float64) / 32768
    loud = np.flatnonzero(np.abs(x) >= 1e-4)
    bounds = starts + [(loud[-1] + 1) / sr if loud.size else len(x) / sr]
    spans = []
    for a, b in zip(bounds, bounds[1:]):
        inside = loud[(loud >= int(a * sr)) & (loud < int(b * sr))]
        spans.append((round(float(a), 3), round(float((inside[-1] + 1) / sr if inside.size else b), 3)))
    offsets = [m.start() for m in re.finditer(r"[^\s<>]+(?![^<]*>)", text) if not text[m.start()].startswith("<")]
    words_out: list[tuple[float, float]] = []
    event_of = [max((k for k, (pos, _) in enumerate(events) if 0 < pos <= off + 1), key=lambda k: events[k][0], default=0)
                for off in offsets]
    for k in event_of:
        words_out.append(spans[k] if spans else (0.0, 0.0))
    return words_out


def _espeak_library(text: str, volume: int) -> tuple[np.ndarray, int, list[tuple[int, float]]]:
    import ctypes

    class Event(ctypes.Structure):
        _fields_ = [("type", ctypes.c_int), ("unique_identifier", ctypes.c_uint), ("text_position", ctypes.c_int),
                    ("length", ctypes.c_int), ("audio_position", ctypes.c_int), ("sample", ctypes.c_int),
                    ("user_data", ctypes.c_void_p), ("id", ctypes.c_char * 8)]

    callback_type = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(Event))
    lib = ctypes.CDLL("libespeak-ng.so.1")
    sr = lib.espeak_Initialize(2, 0, None, 0)  # AUDIO_OUTPUT_SYNCHRONOUS
    lib.espeak_SetVoiceByName(VOICE.encode())
    lib.espeak_SetParameter(2, volume, 0)  # espeakVOLUME, absolute
    chunks: list[np.ndarray] = []
    starts: list[tuple[int, float]] = []

    def collect(wav, n, events):
        if n > 0:
            chunks.append(np.ctypeslib.as_array(wav, shape=(n,)).copy())
        k = 0
        while events[k].type != 0:  # espeakEVENT_LIST_TERMINATED
            if events[k].type == 1:  # espeakEVENT_WORD: (character position, start in s)
                starts.append((events[k].text_position, events[k].sample / sr))
            k += 1
        return 0

    keep = callback_type(collect)
    lib.espeak_SetSynthCallback(keep)
    data = text.encode("utf-8")
    lib.espeak_Synth(data, len(data) + 1, 0, 0, 0, 0x10 | 0x1, None, None)  # espeakSSML | espeakCHARS_UTF8
    lib.espeak_Synchronize()
    return np.concatenate(chunks) if chunks else np.zeros(0, np.int16), sr, starts


def _target_choices(words: list[str], n: int) -> list[int]:
    """First indices of n-word stretches in the middle of the sentence, starting on a content word."""
    return [k for k in range(3, len(words) - n - 2) if words[k] not in FUNCTION_WORDS]


def _synthetic_pieces(words: list[str], kind: str, target: int, pause_at: int, pause_s: float) -> list[str]:
    """The SSML pieces of one item: its words, the kind's tags around the target, the break."""
    open_tag, close_tag, n, _value = SYNTH_KINDS[kind]
    pieces = []
    for j, w in enumerate(words):
        if j == target:
            pieces.append(open_tag)
        pieces.append(w)
        if j == target + n - 1:
            pieces.append(close_tag)
        if j == pause_at:
            pieces.append(f'<break time="{int(pause_s * 1000)}ms"/>')
    return pieces


def render_synthetic(path: Path, words: list[str], kind: str, target: int, pause_at: int, pause_s: float) -> tuple:
    """Synthesise one item into ``path``: (SSML pieces, word spans, samples, sample rate)."""
    pieces = _synthetic_pieces(words, kind, target, pause_at, pause_s)
    spans = espeak(" ".join(pieces), path)
    x, sr = sf.read(path)
    return pieces, spans, x, sr


def rendered_step_st(x: np.ndarray, sr: int, spans: list[tuple[float, float]], target: int) -> float | None:
    """The jump (st) a synthesised word makes from the word before it, measured as the edited half's
    targets are (``pitch_step_targets``: pYIN, the word's onset half against the previous word's
    end half); None where either has too few voiced frames."""
    step = step_from_previous(word_pitch_halves(x, sr, [(a, b, "") for a, b in spans]), target)
    return None if step is None else round(float(step), 2)


def perceptible_step(path: Path, words: list[str], kind: str, target: int, pause_at: int, pause_s: float,
                     rendered: tuple, rng: random.Random) -> tuple:
    """A raised or lowered word is a pitch step only where it makes a perceptible jump from the word
    before it, as in the edited half (``pitch_step_targets``): in 7 of the 96 pitch items of seeds
    4-15 a lowered word came out only 0.9-1.9 st under the end of the word before it. Where the
    rendered ``target`` does not, other words of the sentence (away from the break) are tried in
    ``rng``'s order and the item rendered again. Returns (pieces, spans, samples, sample rate, target,
    step in st)."""
    direction = 1.0 if kind == "pitch_up" else -1.0
    n = SYNTH_KINDS[kind][2]
    others = [t for t in _target_choices(words, n) if t != target and (pause_at < t - 1 or pause_at > t + n)]
    rng.shuffle(others)
    pieces, spans, x, sr = rendered
    while True:
        step = rendered_step_st(x, sr, spans, target) if len(spans) == len(words) else None
        if step is not None and direction * step >= PERCEPTIBLE_STEP_ST:
            return pieces, spans, x, sr, target, step
        if not others:
            raise RuntimeError(f"{path.stem}: no word of '{' '.join(words)}' makes a {PERCEPTIBLE_STEP_ST} st step")
        target = others.pop()
        pieces, spans, x, sr = render_synthetic(path, words, kind, target, pause_at, pause_s)


def synthetic_items(out: Path, rng: random.Random, seed: int) -> list[dict]:
    items = []
    breaks = list(BREAKS_S) * 8
    rng.shuffle(breaks)
    for kind, (open_tag, close_tag, n, value) in SYNTH_KINDS.items():
        for k in range(8 if kind not in ("pitch_up", "pitch_down") else 4):
            sentence = SENTENCES[(k + len(items)) % len(SENTENCES)]
            words = sentence.split()
            target = rng.choice(_target_choices(words, n))
            pause_at = rng.choice([j for j in range(2, len(words) - 2) if j < target - 1 or j > target + n])
            pause_s = breaks.pop()
            item_id = f"syn_{kind}_{k}"
            path = out / "items" / f"{item_id}.wav"
            pieces, spans, x, sr = render_synthetic(path, words, kind, target, pause_at, pause_s)
            step = None
            if kind in ("pitch_up", "pitch_down"):
                pieces, spans, x, sr, target, step = perceptible_step(path, words, kind, target, pause_at, pause_s,
                                                                      (pieces, spans, x, sr), random.Random(f"{seed}-{item_id}"))
            # the same sentence without the manipulation: what espeak-ng does on its own
            base_spans = espeak(" ".join(p for p in pieces if p not in (open_tag, close_tag)),
                                out / "items" / f"{item_id}_base.wav")
            truth = {"type": MARK_TYPE.get(kind, kind), "value": value, "script_words": list(range(target, target + n))}
            if len(spans) == len(words):
                truth["times"] = [list(spans[k]) for k in range(target, target + n)]
            if step is not None:
                truth["step_st_pyin"] = step
            items.append({
                "id": item_id, "set": "synthetic", "audio": f"items/{item_id}.wav", "script": words,
                "ssml": " ".join(pieces),
                "truth": [truth],
                "pauses": [list(p) for p in silent_runs(x, sr, min_s=0.08)],
                "base_audio": f"items/{item_id}_base.wav",
                "word_times": [list(sp) for sp in spans], "base_word_times": [list(sp) for sp in base_spans],
            })
    for k, sentence in enumerate(QUESTIONS + STATEMENTS):
        item_id = f"syn_{'question' if sentence.endswith('?') else 'statement'}_{k % 10}"
        path = out / "items" / f"{item_id}.wav"
        spans = espeak(sentence, path)
        x, sr = sf.read(path)
        words = sentence.rstrip("?.").split()
        items.append({
            "id": item_id, "set": "synthetic", "audio": f"items/{item_id}.wav", "script": words, "ssml": sentence,
            "truth": [{"type": "intonation", "value": "rise" if sentence.endswith("?") else "fall",
                       "script_words": [len(words) - 1], "times": [list(spans[-1])] if spans else []}],
            "pauses": [list(p) for p in silent_runs(x, sr, min_s=0.08)],
        })
    return items


CONTEXT_KINDS = ("faster", "slower", "lengthening")


def add_context(out: Path, items: list[dict], context_sentences: int) -> None:
    """Say each synthetic faster/slower/lengthening item between ``context_sentences``
    unmanipulated sentences of SENTENCES (half before, half after), with its twin likewise, so
    the speaker's own rate and held times are measured on more than the 10 words around the
    stretch (an interview gives minutes). The manipulation, the break and the random draws stay
    those of the plain item; the items are re-synthesised after all others because libespeak-ng
    carries state from one call to the next (every other item stays byte-identical)."""
    for item in items:
        kind = item["id"].split("_")[1]
        if item["set"] != "synthetic" or kind not in CONTEXT_KINDS:
            continue
        open_tag, close_tag, _n, _value = SYNTH_KINDS[kind]
        others = [x for x in SENTENCES if x.split() != item["script"]]
        start = SENTENCES.index(" ".join(item["script"])) % len(others)
        chosen = [others[(start + j) % len(others)] for j in range(context_sentences)]
        before = [x + "." for x in chosen[: context_sentences // 2]]
        after = [x + "." for x in chosen[context_sentences // 2:]]
        ssml = " ".join(before + [item["ssml"] + ("." if after else "")] + after).rstrip(".")
        path = out / item["audio"]
        spans = espeak(ssml, path)
        base_spans = espeak(ssml.replace(open_tag + " ", "").replace(" " + close_tag, ""), out / item["base_audio"])
        offset = sum(len(x.split()) for x in before)
        words = " ".join(before).replace(".", "").split() + item["script"] + " ".join(after).replace(".", "").split()
        truth = item["truth"][0]
        truth["script_words"] = [offset + k for k in truth["script_words"]]
        truth.pop("times", None)
        if len(spans) == len(words):
            truth["times"] = [list(spans[k]) for k in truth["script_words"]]
        x, sr = sf.read(path)
        item.update(script=words, ssml=ssml, pauses=[list(p) for p in silent_runs(x, sr, min_s=0.08)],
                    word_times=[list(sp) for sp in spans], base_word_times=[list(sp) for sp in base_spans],
                    context_sentences=context_sentences)


# ---------------------------------------------------------------- edited real speech


def read_textgrid_tier(path: Path, name: str) -> list[tuple[float, float, str]]:
    """Intervals (start, end, label) of tier ``name`` of a Praat TextGrid (long format)."""
    text = path.read_text(encoding="utf-8")
    tier = text.split(f'name = "{name}"', 1)[1].split("item [", 1)[0]
    return [(float(a), float(b), label.strip()) for a, b, label in
            re.findall(r'xmin = ([\d.]+)\s+xmax = ([\d.]+)\s+text = "([^"]*)"', tier)]


def read_textgrid_words(path: Path) -> list[tuple[float, float, str]]:
    """Intervals (start, end, label) of the ``words`` tier of a Praat TextGrid (long format)."""
    return read_textgrid_tier(path, "words")


SOX_PAD_S = 0.05  # context sox sees on each side of an edited segment


class Editor:
    """Edits a recording segment by segment and keeps the map from original to edited time."""

    def __init__(self, x: np.ndarray, sr: int):
        self.x, self.sr = x.astype(np.float64), sr
        self.edits: list[tuple[float, float, float]] = []  # (orig start, orig end, new length), descending
        frames = np.lib.stride_tricks.sliding_window_view(self.x, int(0.02 * sr))[:: int(0.01 * sr)]
        self.noise_rms = float(np.percentile(np.sqrt(np.mean(frames ** 2, axis=1)), 5))

    def map(self, t: float) -> float:
        shift = 0.0
        for a, b, new in self.edits:
            if t >= b:
                shift += new - (b - a)
            elif t > a:
                shift += (t - a) / (b - a) * new - (t - a)
        return t + shift

    def _splice(self, a_s: float, b_s: float, new: np.ndarray) -> None:
        """Replace [a_s, b_s) by ``new``; callers edit right to left so times stay original."""
        a, b = int(round(a_s * self.sr)), int(round(b_s * self.sr))
        fade = min(int(0.005 * self.sr), len(new) // 4, a, len(self.x) - b)
        if fade > 0:
            ramp = np.linspace(0, 1, fade)
            new = new.copy()
            new[:fade] = new[:fade] * ramp + self.x[a: a + fade] * (1 - ramp)
            new[-fade:] = new[-fade:] * (1 - ramp) + self.x[b - fade: b] * ramp
        self.x = np.concatenate([self.x[:a], new, self.x[b:]])
        self.edits.append((a_s, b_s, len(new) / self.sr))

    def _sox(self, a_s: float, b_s: float, effect: list[str], stretch: float) -> np.ndarray:
        pad = SOX_PAD_S
        lo, hi = max(0.0, a_s - pad), min(len(self.x) / self.sr, b_s + pad)
        segment = self.x[int(round(lo * self.sr)): int(round(hi * self.sr))]
        with tempfile.TemporaryDirectory() as tmp:
            src, dst = Path(tmp) / "in.wav", Path(tmp) / "out.wav"
            sf.write(src, segment, self.sr, subtype="FLOAT")
            subprocess.run(["sox", str(src), str(dst), *effect], check=True, capture_output=True)
            y, _ = sf.read(dst)
        first = int(round((a_s - lo) * stretch * self.sr))
        length = int(round((b_s - a_s) * stretch * self.sr))
        return y[first: first + length]

    def gain(self, a_s: float, b_s: float, db: float) -> None:
        a, b = int(round(a_s * self.sr)), int(round(b_s * self.sr))
        self._splice(a_s, b_s, self.x[a:b] * 10 ** (db / 20))

    def pitch(self, a_s: float, b_s: float, semitones: float) -> None:
        self._splice(a_s, b_s, self._sox(a_s, b_s, ["pitch", str(int(semitones * 100))], 1.0))

    def stretch(self, a_s: float, b_s: float, factor: float) -> None:
        """Make [a_s, b_s) ``factor`` times as long, pitch kept (sox WSOLA ``tempo``)."""
        self._splice(a_s, b_s, self._sox(a_s, b_s, ["tempo", "-s", f"{1 / factor:.4f}"], factor))

    def emphasise(self, a_s: float, b_s: float) -> None:
        shifted = self._sox(a_s, b_s, ["pitch", "250", "tempo", "-s", f"{1 / 1.35:.4f}"], 1.35)
        self._splice(a_s, b_s, shifted * 10 ** (5 / 20))

    def bend(self, a_s: float, b_s: float, semitones: float) -> None:
        """Glide the pitch of [a_s, b_s) from unchanged at a_s to ``semitones`` at b_s (sox ``bend``),
        length kept."""
        delay = a_s - max(0.0, a_s - SOX_PAD_S)
        self._splice(a_s, b_s, self._sox(a_s, b_s, ["bend", f"{delay:.4f},{int(semitones * 100)},{b_s - a_s:.4f}"], 1.0))

    def save(self, out: Path, item_id: str) -> dict:
        """Write the edited recording as ``items/<item_id>.wav`` (16-bit, scaled down only if it would
        clip); the manifest fields naming it and its edits."""
        peak = np.max(np.abs(self.x))
        sf.write(out / "items" / f"{item_id}.wav", self.x / peak * 0.9 if peak > 0.99 else self.x, self.sr,
                 subtype="PCM_16")
        return {"id": item_id, "set": "edited_real", "audio": f"items/{item_id}.wav",
                "edits": [[round(p, 4), round(q, 4), round(n_s, 4)] for p, q, n_s in self.edits]}

    def insert_silence(self, at_s: float, duration_s: float, rng: np.random.Generator) -> None:
        noise = rng.normal(0, self.noise_rms, int(round(duration_s * self.sr)))
        self._splice(at_s, at_s, noise)


# A pitch-shifted word is a pitch step only where the jump it makes from the word before it is
# perceptible, "at least about 3 semitones" (issue 4): +4 st on a word that began 3 st below the
# word before it leaves a 1 st step, no arrow. The jump is measured on the unedited recording with
# librosa's pYIN (not the pipeline's SwiftF0), word onset against the preceding word's end, each
# the median of that half of the word's voiced frames (as the rule measured it when the targets
# were chosen; the rule now takes the preceding word whole, prosody/marks/pitch_steps.py).
STEP_SHIFT_ST = 4.0
PERCEPTIBLE_STEP_ST = 3.0
MIN_VOICED_FRAMES = 5  # 50 ms


def pyin(x: np.ndarray, sr: int) -> tuple[np.ndarray, np.ndarray]:
    """librosa's pYIN F0 (Hz) and voicing every 10 ms: the test set's own tracker, not the pipeline's."""
    import librosa

    frame = 1024 * max(1, round(sr / 22050))  # two periods of 60 Hz at 44.1 and 48 kHz too (1024 at LJ's 22.05 kHz)
    f0, voiced, _ = librosa.pyin(x, fmin=60, fmax=500, sr=sr, frame_length=frame, hop_length=int(round(0.01 * sr)))
    return f0, voiced


def word_pitch_halves(x: np.ndarray, sr: int, words: list[tuple[float, float, str]]) -> list[tuple]:
    """(onset st, offset st) of each word against the recording's median F0, None where the word
    has fewer than MIN_VOICED_FRAMES voiced pYIN frames."""
    f0, voiced = pyin(x, sr)
    hop = int(round(0.01 * sr))
    times = np.arange(len(f0)) * hop / sr
    median = np.nanmedian(f0[voiced])
    out = []
    for a, b, _w in words:
        v = f0[(times >= a) & (times < b) & voiced]
        if len(v) < MIN_VOICED_FRAMES:
            out.append((None, None))
            continue
        half = len(v) // 2
        out.append((12 * np.log2(np.median(v[:half]) / median), 12 * np.log2(np.median(v[half:]) / median)))
    return out


def step_from_previous(halves: list[tuple], k: int) -> float | None:
    """Word k's onset half against the end half of the word before it (st, ``word_pitch_halves``);
    None where either has too few voiced frames."""
    onset, previous = halves[k][0], halves[k - 1][1]
    return None if onset is None or previous is None else onset - previous


def pitch_step_targets(candidates: list[int], words: list[tuple[float, float, str]], halves: list[tuple],
                       direction: float) -> dict[int, float]:
    """Candidate word -> the step (st) it makes from the word before it once shifted by
    ``direction * STEP_SHIFT_ST``: words right after a voiced word (no pause between them) whose
    shifted step reaches PERCEPTIBLE_STEP_ST in the shift's direction."""
    out = {}
    for k in candidates:
        joined = abs(words[k][0] - words[k - 1][1]) < 1e-6
        natural = step_from_previous(halves, k)
        if joined and natural is not None:
            step = natural + direction * STEP_SHIFT_ST
            if direction * step >= PERCEPTIBLE_STEP_ST:
                out[k] = round(float(step), 2)
    return out


REAL_KINDS = ("loud", "quiet", "pitch_up", "pitch_down", "emphasis", "faster", "slower", "lengthening")


# Other real voices of ../shared/corpus: (folder/audio, folder/reference text). They have no word
# times of their own; the edits are placed on the words as PocketSphinx aligns the reference text
# (``aligned_words``). Each voice draws its targets with its own generator, so the LJ Speech items
# of a seed stay as they were before these voices were added.
OTHER_VOICES = {
    "jfk": ("jfk/jfk.flac", "jfk/jfk.reference.txt"),
    "librispeech": ("librispeech_2412-153948-0000/2412-153948-0000.flac",
                    "librispeech_2412-153948-0000/2412-153948-0000.reference.txt"),
    "ptdb": ("ptdb_tug_f0/mic_F01_sa1.wav", "ptdb_tug_f0/sa1.reference.txt"),
}
# Spontaneous speech: one speaker's long turn in the AMI meeting, cut from that speaker's own
# headset track (the others' talk leaks into it 20-34 dB down): (headset track, the speaker's
# transcript, the turn's span in mixture.rttm, the turn's first and last words in the transcript).
# The transcripts are verbatim, with false starts ("may h maybe"), fillers and AMI's spelled
# acronyms ("L_C_D_", said letter by letter).
AMI = "ami_mixture_4spk"
TURNS = {
    "ami_a": (f"{AMI}/sources/source0.wav", f"{AMI}/text/mixture.A.words_joined.txt", (44.46, 60.0),
              "Right, I was", "easier to browse"),
    "ami_b": (f"{AMI}/sources/source1.wav", f"{AMI}/text/mixture.B.words_joined.txt", (7.43, 29.79),
              "When they're", "what you're doing, um."),
    "ami_d": (f"{AMI}/sources/source3.wav", f"{AMI}/text/mixture.D.words_joined.txt", (29.78, 44.48),
              "Actually that", "L_C_D_ display."),
}
TURN_MARGIN_S = 0.2  # taken on either side of a turn's span
VOICES = ("lj",) + tuple(OTHER_VOICES) + tuple(TURNS)
JOIN_GAP_S = 0.08  # aligned words closer than this are joined at the middle of the gap; wider gaps are pauses
INSERTED_SILENCES_S = (0.2, 0.3, 0.4, 0.5, 0.7, 1.0, 1.5, 2.0)  # one per edited item, shuffled


def read_mono(path: Path) -> tuple[np.ndarray, int]:
    x, sr = sf.read(path)
    return (x if x.ndim == 1 else x.mean(axis=1)), sr


def lj_words_and_pauses(wav: Path) -> tuple[list[tuple[float, float, str]], list[tuple[float, float]]]:
    """An LJ Speech recording's words and its pauses (silent intervals of 80 ms or more between
    words) from its TextGrid."""
    tier = read_textgrid_words(wav.with_suffix(".TextGrid"))
    words = [(a, b, w) for a, b, w in tier if w]
    pauses = [(a, b) for a, b, w in tier if not w and b - a >= 0.08 and a > words[0][0] and b < words[-1][1]]
    return words, pauses


def aligned_words(x: np.ndarray, sr: int, text: str) -> list[tuple[float, float, str]]:
    """(start, end, word) of each word of ``text`` in the (mono) recording, from the pipeline's forced
    aligner (PocketSphinx) over the whole recording; gaps under JOIN_GAP_S closed at their middle."""
    import librosa

    from transcribe.forced_align import SPEECH_FILLER, WordAligner

    labels = [w.strip(".,;:!?\"") for w in text.split()]
    aligner = WordAligner()
    tokens = [aligner.tokens(w) for w in labels]
    unknown = [w for w, t in zip(labels, tokens) if t == [SPEECH_FILLER]]
    if unknown:
        raise ValueError(f"words not in the aligner's dictionary: {unknown}")
    got = aligner.align_chunk(librosa.resample(x, orig_sr=sr, target_sr=16000).astype(np.float32), 0.0, tokens)
    if got is None:
        raise RuntimeError("the aligner did not reach the end of the reference text")
    spans = [[a, b] for a, b, _phones in got]
    for k in range(1, len(spans)):
        if 0 < spans[k][0] - spans[k - 1][1] < JOIN_GAP_S:
            spans[k][0] = spans[k - 1][1] = round((spans[k][0] + spans[k - 1][1]) / 2, 4)
    return [(a, b, w.lower()) for (a, b), w in zip(spans, labels)]


def other_voice(corpus: Path, voice: str) -> tuple[str, np.ndarray, int, list[tuple[float, float, str]]]:
    """One of OTHER_VOICES: its path in the corpus, its (mono) samples and rate, and its aligned words."""
    audio, text = OTHER_VOICES[voice]
    x, sr = read_mono(corpus / audio)
    return audio, x, sr, aligned_words(x, sr, (corpus / text).read_text(encoding="utf-8"))


def turn_text(path: Path, first: str, last: str) -> str:
    """The words of a transcript from ``first`` to ``last`` (inclusive), AMI's spelled acronyms as
    their letters ("L_C_D_" -> "L C D")."""
    text = path.read_text(encoding="utf-8")
    start = text.index(first)
    text = text[start: text.index(last, start) + len(last)]
    return re.sub(r"\b((?:[A-Z]_)+)", lambda m: " ".join(m.group(1).rstrip("_").split("_")), text)


def turn_voice(corpus: Path, voice: str) -> tuple[str, np.ndarray, int, list[tuple[float, float, str]], list[float]]:
    """One of TURNS: its headset track's path in the corpus, the turn's samples (TURN_MARGIN_S either
    side) and rate, its aligned words (times within the turn) and its span in the track."""
    audio, text, (a, b), first, last = TURNS[voice]
    x, sr = read_mono(corpus / audio)
    a, b = max(0.0, a - TURN_MARGIN_S), min(len(x) / sr, b + TURN_MARGIN_S)
    x = x[int(round(a * sr)): int(round(b * sr))]
    return audio, x, sr, aligned_words(x, sr, turn_text(corpus / text, first, last)), [round(a, 3), round(b, 3)]


def unedited_recording(folder: Path, corpus: Path, item: dict) -> Path:
    """The unedited recording of an edited real item: a turn written beside the items, or a corpus file."""
    return folder / item["unedited_audio"] if "unedited_audio" in item else source_path(corpus, item["source"])


def edited_real_items(out: Path, corpus: Path, rng: random.Random, seed: int,
                      voices: tuple[str, ...] = VOICES) -> list[dict]:
    items = []
    if "lj" in voices:
        folder = corpus / "ljspeech_LJ050-027x"
        silences = list(INSERTED_SILENCES_S) * 9
        rng.shuffle(silences)
        for wav in sorted(folder.glob("LJ050-027*.wav")):
            words, pauses = lj_words_and_pauses(wav)
            items += edited_recording(out, wav.stem, wav.name, *read_mono(wav), words, pauses, rng, seed, silences)
    for voice in voices:
        if voice == "lj":
            continue
        if voice in TURNS:
            audio, x, sr, words, span = turn_voice(corpus, voice)
            stem = voice
        else:
            audio, x, sr, words = other_voice(corpus, voice)
            stem = Path(audio).stem
        own = random.Random(f"{seed}-{voice}")
        silences = list(INSERTED_SILENCES_S) * 3
        own.shuffle(silences)
        # The speaker's own pauses are not known: a gap between aligned words may hold a breath
        # (LibriSpeech's 0.31 s after "antecedents" is 0.19 s of silence and an in-breath), so
        # only the inserted silence is a pause by construction.
        # the aligned words of the unedited recording (bench_marks.py --true-word-times)
        known = {"source_words": [[round(a, 3), round(b, 3), w] for a, b, w in words]}
        if voice in TURNS:  # the turn as cut, beside its edited copies
            known.update(source_span_s=span, unedited_audio=Editor(x, sr).save(out, f"turn_{voice}")["audio"])
        items += [{**item, **known} for item in edited_recording(out, stem, audio, x, sr, words, [], own, seed, silences)]
    return items


def edited_recording(out: Path, stem: str, source: str, x: np.ndarray, sr: int, words: list[tuple[float, float, str]],
                     original_pauses: list[tuple[float, float]], rng: random.Random, seed: int,
                     silences: list[float]) -> list[dict]:
    """Up to three edited copies of one (mono) recording per kind of edit (fewer where a short
    recording has fewer words that fit); ``stem`` names its items, ``source`` is its path in the
    corpus (for LJ Speech, as before, its file name in ljspeech_LJ050-027x)."""
    items = []
    halves = word_pitch_halves(x, sr, words)
    for kind in REAL_KINDS:
        n = 5 if kind in ("faster", "slower") else 1
        candidates = [k for k in range(2, len(words) - n - 2)
                      if (n > 1 or (words[k][1] - words[k][0] >= 0.18 and words[k][2] not in FUNCTION_WORDS))]
        targets = rng.sample(candidates, min(3, len(candidates)))
        step_made = {}
        if kind in ("pitch_up", "pitch_down"):
            # drawn with their own generator, so the other items stay as they were before
            # pitch targets were chosen by their step
            step_made = pitch_step_targets(candidates, words, halves, 1.0 if kind == "pitch_up" else -1.0)
            targets = random.Random(f"{seed}-{stem}-{kind}").sample(sorted(step_made), min(3, len(step_made)))
        for variant, target in enumerate(targets):
            ed = Editor(x, sr)
            joins = [k for k in range(1, len(words) - 1) if abs(words[k][0] - words[k - 1][1]) < 1e-6
                     and (k < target - 2 or k > target + n + 2)]
            if not joins:  # a short recording with no place for the silence away from the edit
                continue
            join = rng.choice(joins)
            a, b = words[target][0], words[target + n - 1][1]
            edits = []
            if join > target:  # edit right to left so earlier times stay put
                edits.append(("silence", join))
            edits.append((kind, None))
            if join < target:
                edits.append(("silence", join))
            silence_s = silences.pop() if silences else 0.5
            value = None
            for what, where in edits:
                if what == "silence":
                    ed.insert_silence(words[where][0], silence_s, np.random.default_rng(rng.randrange(1 << 30)))
                elif what == "loud":
                    db = rng.choice([6.0, 8.0, 10.0])
                    ed.gain(a, b, db)
                    value = db
                elif what == "quiet":
                    ed.gain(a, b, -10.0)
                elif what == "pitch_up":
                    ed.pitch(a, b, 4.0)
                    value = "up"
                elif what == "pitch_down":
                    ed.pitch(a, b, -4.0)
                    value = "down"
                elif what == "emphasis":
                    ed.emphasise(a, b)
                elif what == "faster":
                    ed.stretch(a, b, 0.8)
                    value = "faster"
                elif what == "slower":
                    ed.stretch(a, b, 1.25)
                    value = "slower"
                elif what == "lengthening":
                    ed.stretch(a, b, 1.8)
            saved = ed.save(out, f"real_{stem}_{kind}_{variant}")
            inserted = ed.map(words[join][0])
            pauses = [(ed.map(p), ed.map(q)) for p, q in original_pauses]
            pauses.append((inserted - silence_s, inserted))
            items.append({
                **saved, "source": source,
                "truth": [{"type": MARK_TYPE.get(kind, kind), "value": value,
                           "times": [[round(ed.map(words[k][0]), 3), round(ed.map(words[k][1]), 3)]
                                     for k in range(target, target + n)],
                           "words": [words[k][2] for k in range(target, target + n)],
                           **({"step_st_pyin": step_made[target]} if step_made else {})}],
                "pauses": sorted([round(p, 3), round(q, 3)] for p, q in pauses),
                "inserted_silence_s": silence_s,
            })
    return items


# Sentence-final words of the corpus recordings (read declaratives; the LJ Speech punctuation is its
# metadata's: LJ050-0276 and -0277 end on a comma, mid-sentence): (recording, word, occurrence).
# "fw" is the two-speaker stereo file, one speaker per channel (intonation items only: its channels
# overlap in time, so they are taken one at a time); its stem names the channel.
STATEMENT_ENDS = (("lj", "LJ050-0276", "made", 1), ("lj", "LJ050-0278", "liberties", 1),
                  ("jfk", None, "country", 2), ("librispeech", None, "country", 1),
                  ("librispeech", None, "myself", 1), ("ptdb", None, "year", 1),
                  ("fw", "left", "left", 1), ("fw", "right", "distant", 1))
STEREO = "fw_stereo_2spk/stereo_diarization.wav"  # its texts per channel in stereo_diarization.reference.tsv
INTONATION_VOICES = tuple(dict.fromkeys(voice for voice, *_ in STATEMENT_ENDS))
QUESTION_RISES_ST = (8.0, 10.0, 12.0)  # glides bent onto a statement's final word
PERCEPTIBLE_RISE_ST = 3.0  # a bent word is a question item only where its end then rises this much


def final_rise_st(x: np.ndarray, sr: int, a_s: float, b_s: float) -> float | None:
    """How far the end of [a_s, b_s) lies above the lowest pitch of its last 0.35 s of voiced frames
    (librosa's pYIN, not the pipeline's tracker; the end is the median of the last 3 voiced frames;
    frames an octave-error's 8 st or more from the word's median are left out); None with fewer
    than MIN_VOICED_FRAMES voiced frames."""
    f0, voiced = pyin(x[int(a_s * sr): int(b_s * sr)], sr)
    v = f0[voiced]
    v = v[np.abs(12 * np.log2(v / np.median(v))) < 8.0] if len(v) else v
    if len(v) < MIN_VOICED_FRAMES:
        return None
    v = v[-35:]
    return float(12 * np.log2(np.median(v[-3:]) / np.min(v)))


def intonation_items(out: Path, corpus: Path,
                     voices: tuple[str, ...] = INTONATION_VOICES) -> tuple[list[dict], list[dict]]:
    """Final intonation on real voices: each sentence-final word of STATEMENT_ENDS as recorded (truth
    "fall": a read declarative sentence, the one truth here that comes from the text rather than
    from an edit) and bent into a rise by each of QUESTION_RISES_ST over the word (truth "rise")
    where that leaves its end PERCEPTIBLE_RISE_ST above the lowest pitch before it (a word that
    fell 5 st and ends in creak can still end low after the bend); the bends that do not are listed
    in the returned ``dropped``. No randomness: the same items for every seed."""
    items, dropped = [], []
    for voice, stem, word, occurrence in STATEMENT_ENDS:
        if voice not in voices:
            continue
        if voice == "lj":
            source = f"{stem}.wav"
            wav = source_path(corpus, source)
            (words, pauses), (x, sr) = lj_words_and_pauses(wav), read_mono(wav)
        elif voice == "fw":
            source = STEREO
            both, sr = sf.read(corpus / source)
            x = both[:, ("left", "right").index(stem)]
            rows = (corpus / source).with_suffix(".reference.tsv").read_text(encoding="utf-8").splitlines()
            text = next(row.split("\t")[2] for row in rows[1:] if row.split("\t")[0] == stem)
            words, pauses = aligned_words(x, sr, text), []
            stem = f"stereo_{stem}"
        else:
            source, x, sr, words = other_voice(corpus, voice)
            stem, pauses = Path(source).stem, []
        k = [i for i, w in enumerate(words) if w[2] == word][occurrence - 1]
        a, b = words[k][0], words[k][1]
        for rise in (None,) + QUESTION_RISES_ST:
            ed = Editor(x, sr)
            item_id = f"real_{stem}_{word}_{'statement' if rise is None else f'question_{int(rise)}st'}"
            measured = None
            if rise is not None:
                ed.bend(a, b, rise)
                measured = final_rise_st(ed.x, sr, a, b)
                if measured is None or measured < PERCEPTIBLE_RISE_ST:
                    dropped.append({"id": item_id, "rise_st_pyin": None if measured is None else round(measured, 2)})
                    continue
            saved = ed.save(out, item_id)
            items.append({
                **saved, "source": source,
                "truth": [{"type": "intonation", "value": "fall" if rise is None else "rise",
                           "times": [[round(a, 3), round(b, 3)]], "words": [word],
                           **({"bend_st": rise, "rise_st_pyin": round(measured, 2)} if rise is not None else {})}],
                "pauses": sorted([round(p, 3), round(q, 3)] for p, q in pauses),
            })
    return items, dropped


def is_lj(source: str) -> bool:
    """An item's ``source`` names an LJ Speech recording (its file name only, with a TextGrid) rather
    than a path in the corpus."""
    return "/" not in source


def source_path(corpus: Path, source: str) -> Path:
    """The unedited recording of an edited item: LJ Speech items name only the file."""
    return corpus / "ljspeech_LJ050-027x" / source if is_lj(source) else corpus / source


FIXTURES = {  # small committed files for the always-on end-to-end test (tests/fixtures/prosody)
    "question.flac": "is your brother coming to the party on saturday?",
    "statement.flac": "your brother is coming to the party on saturday.",
    "loud_and_pause.flac": 'we walked along the <prosody volume="+200%">river</prosody> in the morning '
                           '<break time="700ms"/> and talked about the garden plans for next summer.',
    "lengthened.flac": 'we walked along the river in the <prosody rate="35%">morning</prosody> and talked about '
                       'the garden plans for next summer.',
    # tiny.en's batched decoder wrote its end of text after "letter." and lost the rest
    # (transcribe/asr.py, skipped speech)
    "pause_then_quiet.flac": 'he wrote a long letter <break time="1500ms"/> to his brother about the '
                             '<prosody volume="x-soft">journey</prosody> to the mountains in june.',
}


# The committed fixtures were rendered at libespeak-ng's default volume; tests/test_asr_batching.py
# holds a decoder failure that this exact audio of pause_then_quiet.flac set off.
FIXTURE_VOLUME = 100


def write_fixtures(folder: Path) -> None:
    """The fixtures as 16 kHz mono FLAC (a few tens of KB each)."""
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for name, ssml in FIXTURES.items():
            wav = Path(tmp) / "x.wav"
            espeak(ssml, wav, volume=FIXTURE_VOLUME)
            subprocess.run(["sox", str(wav), "-r", "16000", "-b", "16", str(folder / name)], check=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("prosody_testset"))
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument("--synthetic-only", action="store_true")
    parser.add_argument("--voices", default="lj",
                        help=f"real recordings to edit, comma-separated, of {', '.join(VOICES)} (default: lj; the "
                             "README scores the others as a set of their own: --voices jfk,librispeech,ptdb --no-synthetic)")
    parser.add_argument("--no-synthetic", action="store_true",
                        help="edited real items only; not with lj, whose items depend on the synthetic ones drawn first")
    parser.add_argument("--context-sentences", type=int, default=0,
                        help="say each synthetic faster/slower/lengthening item between this many plain sentences")
    parser.add_argument("--intonation", action="store_true",
                        help="write only the real-speech intonation items of --voices (statements as recorded, "
                             "their final words bent into rises; the same for every seed) and stop")
    parser.add_argument("--fixtures", action="store_true", help="(re)write tests/fixtures/prosody and stop")
    args = parser.parse_args()
    if args.fixtures:
        write_fixtures(REPO / "tests" / "fixtures" / "prosody")
        return 0
    voices = tuple(v for v in args.voices.split(",") if v)
    known = INTONATION_VOICES if args.intonation else VOICES
    if set(voices) - set(known):
        parser.error(f"--voices: unknown {sorted(set(voices) - set(known))}; choose from {', '.join(known)}")
    if args.intonation:
        (args.out / "items").mkdir(parents=True, exist_ok=True)
        items, dropped = intonation_items(args.out, args.corpus, voices)
        (args.out / "manifest.json").write_text(json.dumps({"voice": VOICE, "items": items, "dropped": dropped}, indent=1))
        print(f"{len(items)} items in {args.out} ({len(dropped)} bends left no perceptible rise)")
        return 0
    if args.no_synthetic and "lj" in voices:
        parser.error("--no-synthetic draws the LJ Speech items differently from a full set: leave lj out of --voices")
    (args.out / "items").mkdir(parents=True, exist_ok=True)
    rng = random.Random(args.seed)
    items = [] if args.no_synthetic else synthetic_items(args.out, rng, args.seed)
    if not args.synthetic_only:
        if (args.corpus / "ljspeech_LJ050-027x").is_dir():
            items += edited_real_items(args.out, args.corpus, rng, args.seed, voices)
        else:
            print(f"corpus not found at {args.corpus}: edited real items skipped", file=sys.stderr)
    if args.context_sentences:
        add_context(args.out, items, args.context_sentences)
    (args.out / "manifest.json").write_text(json.dumps({"voice": VOICE, "seed": args.seed, "items": items}, indent=1))
    print(f"{len(items)} items in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
