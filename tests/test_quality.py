"""Recording quality (capture/quality.py) on synthetic signals whose clipping and noise are known."""

from __future__ import annotations

import math

import numpy as np
import pytest
import soundfile as sf

from capture.audio16k import decode_to_folder
from capture.quality import ClipCounter, Clipping, QualityOptions, assess, clipping_of, quality_note
from capture.record import (AudioInfo, ChannelTracks, IntensityTrack, Pipeline, PitchTrack, Speaker, TimeSpan,
                            Transcript, Word, replace)
from prosody.intensity import intensity_frames

SR = 16000


def _sine(amplitude: float, *, seconds: float = 1.0, sr: int = 44100, hz: float = 437.3) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return np.clip(amplitude * np.sin(2 * np.pi * hz * t), -1.0, 1.0).astype(np.float32)


@pytest.mark.parametrize("amplitude", [1.5, 2.0, 4.0])
def test_the_clipped_share_of_a_driven_sine_is_the_share_above_the_clip_level(amplitude):
    """A sine of amplitude A cut at full scale spends 1 - (2/pi) asin(0.99 / A) of its time at or
    above 0.99 (every run is ~tens of samples long, so all of them count)."""
    got = clipping_of(_sine(amplitude)[None, :], sr=44100)
    assert got.fraction == pytest.approx(1 - 2 / math.pi * math.asin(0.99 / amplitude), abs=0.005)
    assert got.peak_dbfs == 0.0
    assert len(got.spans) == 1 and got.spans[0].start_s < 0.01 and got.spans[0].end_s > 0.99  # runs 1 ms apart joined


def test_peaks_shorter_than_a_run_are_not_clipping_and_a_clean_signal_has_none():
    x = np.zeros(1000, np.float32)
    x[100] = 1.0
    x[200:202] = -1.0
    x[300:303] = 0.995
    got = clipping_of(x[None, :], sr=1000)
    assert got.clipped_samples == 3 and got.fraction == pytest.approx(0.003)
    assert [(s.start_s, s.end_s) for s in got.spans] == [(0.3, 0.303)]
    clean = clipping_of(_sine(0.9)[None, :], sr=44100)
    assert clean.clipped_samples == 0 and clean.spans == () and clean.peak_dbfs == pytest.approx(20 * math.log10(0.9), abs=0.01)


@pytest.mark.parametrize("block", [1, 7, 1000, 4999, 5000])
def test_counting_block_by_block_gives_what_the_whole_signal_gives(block):
    """Runs crossing a block's edge (here at every block size tried) are counted once."""
    x = np.zeros((2, 5000), np.float32)
    x[0, 100:110] = 1.0
    x[0, 2000:2002] = 1.0
    x[1, 995:1010] = -1.0
    x[1, 4990:] = 1.0
    counter = ClipCounter(sr=1000, channels=2)
    for i in range(0, 5000, block):
        counter.add(x[:, i:i + block].T)
    got = counter.result()
    assert got == clipping_of(x, sr=1000)
    assert got.clipped_samples == 35 and got.total_samples == 10000
    assert [(s.start_s, s.end_s) for s in got.spans] == [(0.1, 0.11), (0.995, 1.01), (4.99, 5.0)]


def test_spans_are_capped_but_every_clipped_sample_is_counted():
    x = np.zeros(100_000, np.float32)
    for start in range(0, 100_000, 1000):  # 100 runs a second apart
        x[start:start + 5] = 1.0
    got = clipping_of(x[None, :], sr=1000, options=QualityOptions(max_spans=10))
    assert len(got.spans) == 10 and got.clipped_samples == 500


def test_the_decoder_counts_clipping_on_the_files_own_samples(tmp_path):
    """Counted at 44.1 kHz, before resampling to 16 kHz rounds the flat tops off."""
    path = tmp_path / "hot.wav"
    stereo = np.stack([_sine(2.0), _sine(0.5)], axis=1)
    sf.write(path, stereo, 44100, subtype="PCM_16")
    before = path.read_bytes()
    decoded = decode_to_folder(path, tmp_path / "decoded")
    expected = clipping_of(sf.read(path, dtype="float32", always_2d=True)[0].T, sr=44100)
    assert decoded.clipping == expected
    hot = 1 - 2 / math.pi * math.asin(0.99 / 2.0)
    assert decoded.clipping.clipped_samples / decoded.clipping.total_samples == pytest.approx(hot / 2, abs=0.005)
    # the share is the clipped channel's own, not diluted by the clean one
    assert decoded.clipping.fraction == decoded.clipping.channel_fraction(0) == pytest.approx(hot, abs=0.005)
    assert decoded.clipping.channel_fraction(1) == 0.0 and decoded.clipping.channel_fraction(2) is None
    assert path.read_bytes() == before


def _recording(*, speech_rms: float | list[float], noise_rms: float, words_at: list[tuple[float, float]], seconds: float = 8.0,
               sample_rate_hz: int = SR, seed: int = 0) -> Transcript:
    """Steady 'speech' (a 200 Hz tone of ``speech_rms``) in the word spans over white noise of
    ``noise_rms``, measured with the pipeline's own intensity frames."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    x = rng.normal(0.0, noise_rms, t.size)
    levels = speech_rms if isinstance(speech_rms, list) else [speech_rms] * len(words_at)
    for (a, b), rms in zip(words_at, levels):
        inside = (t >= a) & (t < b)
        x[inside] += rms * math.sqrt(2) * np.sin(2 * np.pi * 200 * t[inside])
    db = intensity_frames(x, sr=SR)
    words = tuple(Word(text=f"w{i}", start_s=a, end_s=b, probability=0.9, speaker="S1")
                  for i, (a, b) in enumerate(words_at))
    return Transcript(audio=AudioInfo("/x/rec.wav", "", seconds, sample_rate_hz, 1),
                      pipeline=Pipeline("0", {}, {}, "cpu", {}), words=words,
                      intensity=IntensityTrack(hop_s=0.01, start_s=0.0, db=tuple(float(v) for v in db)))


WORDS = [(0.5 + 1.2 * k, 1.1 + 1.2 * k) for k in range(6)]  # 0.6 s apart: 2 s of background 0.1 s from the words
NO_CLIPPING = Clipping(peak=0.5, clipped_samples=0, total_samples=100, spans=())


@pytest.mark.parametrize("snr_db", [10.0, 17.0, 30.0])
def test_the_signal_to_noise_ratio_is_speech_and_noise_over_noise(snr_db):
    """Speech frames hold speech and noise: the estimate is 10 log10(1 + S/N), to within the
    spread of a 32 ms noise frame's level (its 10th percentile lies ~0.5 dB under the mean)."""
    speech_rms = 0.05
    q = assess(_recording(speech_rms=speech_rms, noise_rms=speech_rms / 10 ** (snr_db / 20), words_at=WORDS),
               NO_CLIPPING)
    assert q.speech_level_dbfs == pytest.approx(20 * math.log10(speech_rms) + 10 * math.log10(1 + 10 ** (-snr_db / 10)), abs=0.3)
    assert q.snr_db == pytest.approx(10 * math.log10(1 + 10 ** (snr_db / 10)), abs=1.0)
    assert [w.code for w in q.warnings] == (["noise"] if snr_db < 20 else [])


def test_the_background_is_measured_under_the_talk_not_in_digital_silence_around_it():
    """Twenty seconds of nothing before the talk would put the noise at -94 dBFS; the hiss between
    the words is what the pauses and quiet marks contend with."""
    late = [(a + 20, b + 20) for a, b in WORDS]
    noisy = _recording(speech_rms=0.05, noise_rms=0.05 / 10 ** 0.5, words_at=late, seconds=28.0)
    db = np.array(noisy.intensity.db)
    db[:1900] = 0.0  # digital silence: the intensity track's floor
    q = assess(replace(noisy, intensity=IntensityTrack(0.01, 0.0, tuple(db))), NO_CLIPPING)
    assert q.snr_db == pytest.approx(10.4, abs=1.0) and [w.code for w in q.warnings] == ["noise"]
    assert q.noise_measured_in == "pauses" and "above the background noise:" in q.warnings[0].message


@pytest.mark.parametrize("snr_db", [8.0, 25.0])
def test_without_pauses_the_noise_is_read_in_the_quietest_moments_of_the_talk(snr_db):
    """Words 0.12 s apart (a stop's closure, no pause): the talk's quietest 5 % of frames are the
    noise between them."""
    run_on = [(0.3 + 0.52 * k, 0.7 + 0.52 * k) for k in range(13)]
    q = assess(_recording(speech_rms=0.05, noise_rms=0.05 / 10 ** (snr_db / 20), words_at=run_on), NO_CLIPPING)
    assert q.noise_measured_in == "quietest_talk"
    assert q.snr_db == pytest.approx(10 * math.log10(1 + 10 ** (snr_db / 10)), abs=1.5)
    assert [w.message.split(":")[0] for w in q.warnings] == (
        ["speech is only 9 dB above the quietest moments of the talk (too few pauses to measure the background alone)"]
        if snr_db < 20 else [])


def test_with_a_channel_per_speaker_each_is_judged_on_its_own_microphone():
    """S1's clean microphone and S2's noisy one (10 dB): the warning names S2's channel, and
    the clipping share is the clipped channel's own."""
    s1_words = [(0.5 + 2.4 * k, 1.1 + 2.4 * k) for k in range(4)]
    s2_words = [(1.7 + 2.4 * k, 2.3 + 2.4 * k) for k in range(4)]
    clean = _recording(speech_rms=0.05, noise_rms=0.0005, words_at=s1_words, seconds=10.0)
    noisy = _recording(speech_rms=0.05, noise_rms=0.05 / 10 ** 0.5, words_at=s2_words, seconds=10.0, seed=1)
    words = tuple(sorted((replace(w, speaker=who) for who, t in (("S1", clean), ("S2", noisy)) for w in t.words),
                         key=lambda w: w.start_s))
    pitch = PitchTrack(hop_s=0.01, start_s=0.0, f0_hz=())
    t = replace(clean, audio=replace(clean.audio, channels=2), words=words,
                speakers=(Speaker("S1", "Interviewer", channel=0), Speaker("S2", "Nurse", channel=1)),
                channel_tracks=(ChannelTracks(0, pitch, clean.intensity), ChannelTracks(1, pitch, noisy.intensity)))
    clipped_right = Clipping(peak=1.0, clipped_samples=30, total_samples=20_000, spans=(TimeSpan(1.8, 1.9),),
                             by_channel=(0, 30))
    q = assess(t, clipped_right)
    assert [c.channel for c in q.channels] == [0, 1]
    assert q.channels[0].snr_db > 40 and q.channels[1].snr_db == pytest.approx(10.4, abs=1.0)
    assert (q.channels[0].clipped_fraction, q.channels[1].clipped_fraction, q.clipped_fraction) == (0.0, 0.003, 0.003)
    assert [w.code for w in q.warnings] == ["clipping", "noise"]
    assert q.warnings[0].message.startswith("0.3 % of the samples of the most clipped channel are clipped")
    snr = f"{q.channels[1].snr_db:.0f}"
    assert q.warnings[1].message.startswith(f"channel 1 (Nurse): speech is only {snr} dB above the background noise")
    assert quality_note(replace(t, quality=q)) == f"quality: 0.3 % clipped; speech {snr} dB above the noise"


def test_without_pauses_or_a_floor_under_the_talk_the_noise_is_not_known_and_nothing_is_claimed():
    """Talk without pauses whose quietest frames are words said ever more softly (2.5 dB apart),
    not noise, and a clip too short to tell: no noise level, no warning."""
    back_to_back = [(0.1 + 0.5 * k, 0.6 + 0.5 * k) for k in range(15)]
    softer = [0.05 * 10 ** (-2.5 * k / 20) for k in range(15)]
    for q in (assess(_recording(speech_rms=softer, noise_rms=1e-5, words_at=back_to_back), NO_CLIPPING),
              assess(_recording(speech_rms=0.05, noise_rms=0.02, words_at=[(1.0, 1.8)], seconds=3.0), NO_CLIPPING)):
        assert q.noise_level_dbfs is None and q.noise_measured_in is None and q.snr_db is None and q.warnings == ()
        assert q.speech_level_dbfs is not None


def test_clipping_a_low_sample_rate_and_no_words_are_said_in_the_header():
    t = _recording(speech_rms=0.05, noise_rms=0.0005, words_at=WORDS, sample_rate_hz=8000)
    clipped = Clipping(peak=1.0, clipped_samples=50, total_samples=10_000, spans=(TimeSpan(2.6, 2.7),))
    q = assess(t, clipped)
    assert [w.code for w in q.warnings] == ["clipping", "low_sample_rate"]
    assert q.warnings[0].message.startswith("0.5 % of the samples are clipped at full scale, first at 2.6 s")
    assert "above 4 kHz is missing" in q.warnings[1].message
    assert quality_note(replace(t, quality=q)) == "quality: 0.5 % clipped; 8000 Hz"
    below = assess(t, Clipping(peak=1.0, clipped_samples=5, total_samples=10_000, spans=(TimeSpan(2.6, 2.7),)))
    assert [w.code for w in below.warnings] == ["low_sample_rate"]  # 0.05 %: under the 0.1 % limit

    silent = replace(t, words=())
    assert assess(silent, Clipping(0.0, 0, 100, ())).warnings[-1].message == "no words were recognised: the recording is digital silence"
    assert assess(silent, Clipping(0.001, 0, 100, ())).warnings[-1].message == "no words were recognised: its loudest sample is at -60 dBFS"
    assert assess(silent, Clipping(0.5, 0, 100, ())).warnings[-1].message == "no words were recognised"
    assert quality_note(t) == ""  # processed before quality was measured


@pytest.mark.parametrize("bad, says", [({"clip_level": 1.5}, "clip_level"), ({"max_clipped_fraction": 2}, "max_clipped_fraction"),
                                       ({"min_noise_s": 0}, "min_noise_s"), ({"noise_percentile": 101}, "noise_percentile"),
                                       ({"quiet_talk_percentile": -1}, "quiet_talk_percentile"),
                                       ({"min_talk_s": 0}, "min_talk_s"), ({"floor_spread_db": -1}, "floor_spread_db")])
def test_options_out_of_range_say_which(bad, says):
    with pytest.raises(ValueError, match=says):
        QualityOptions(**bad)
