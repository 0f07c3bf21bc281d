"""The WebVTT export through Chromium's own track parser (Debian's /usr/bin/chromium driven by
Playwright): every cue loads with its times, text and voice (speaker) as the browser sees them."""

from __future__ import annotations

import functools
import http.server
import os
import threading
from pathlib import Path

import numpy as np
import pytest

from export import export_all
from export_sample import SPEAKERS, sample_transcript, write_sample

CHROMIUM = os.environ.get("TONESCRIBE_CHROMIUM", "/usr/bin/chromium")

pytestmark = [pytest.mark.slow]

PAGE = """<!doctype html><meta charset="utf-8">
<video id="v" src="silence.wav" preload="auto" muted>
  <track id="t" kind="subtitles" srclang="es" label="tonescribe" src="{vtt}" default>
</video>"""

READ_CUES = """() => Array.from(document.getElementById('t').track.cues).map(c => {
  const voice = c.getCueAsHTML().querySelector('span[title]');
  return {start: c.startTime, end: c.endTime, text: c.getCueAsHTML().textContent,
          voice: voice ? voice.title : null};
})"""


@pytest.fixture()
def served(tmp_path):
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium; .ci/run does)")
    pytest.importorskip("playwright")
    import soundfile

    folder = write_sample(tmp_path / "entrevista ñ 01")
    (vtt,) = export_all(folder, "vtt")["vtt"]
    soundfile.write(folder / "silence.wav", np.zeros(16000 * 10, dtype=np.float32), 16000)
    (folder / "index.html").write_text(PAGE.format(vtt=vtt.name), encoding="utf-8")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/index.html"
    finally:
        server.shutdown()
        server.server_close()


def test_chromium_parses_every_cue_with_its_voice(served):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--mute-audio"])
        try:
            page = browser.new_page()
            page.goto(served)
            page.wait_for_function("document.getElementById('t').readyState === 2", timeout=20000)
            cues = page.evaluate(READ_CUES)
        finally:
            browser.close()
    transcript = sample_transcript()
    names = {s.id: s.label for s in SPEAKERS}
    assert len(cues) == len(transcript.utterances)
    for cue, utt in zip(cues, transcript.utterances):
        words = transcript.words[utt.first_word:utt.last_word + 1]
        assert cue["voice"] == names[utt.speaker]
        assert cue["text"].split() == [w.text for w in words]
        assert abs(cue["start"] - words[0].start_s) < 0.0015 and abs(cue["end"] - words[-1].end_s) < 0.0015
