"""Reference behaviour of the seed (mariiio/rally-cut, analysis/, at commit 4bf9a106), transcribed by hand
from its source for the differential fixtures in test/fixtures/fidelity/. Written in our own words; each
function names the seed function it reproduces. The seed's modules import torch, which this machine lacks,
so the pure-Python logic is restated here rather than imported.

Run `python3 test/fidelity/seed_reference.py` to regenerate the fixtures (seeded, so byte-identical).
"""

from __future__ import annotations

import json
import random
from pathlib import Path

WINDOW_FRAMES = 16

# temporal/inference.py TemporalInferenceConfig defaults
MAX_RALLY_S = 60.0
LOW_PROB = 0.4
LOW_RUN = 2
FORCED_MULTIPLIER = 1.5


def seed_extract_segments(preds: list[int], fps: float, stride: int) -> list[tuple[float, float]]:
    """temporal/inference.py extract_segments_from_predictions (confidence left out)."""
    out: list[tuple[float, float]] = []
    step = stride / fps
    in_rally = False
    first = 0
    for i, p in enumerate(preds):
        if p == 1 and not in_rally:
            in_rally, first = True, i
        elif p == 0 and in_rally:
            in_rally = False
            out.append((first * step, i * step + (WINDOW_FRAMES / fps)))
    if in_rally:
        out.append((first * step, len(preds) * step))
    return out


def seed_anti_overmerge(segs: list[tuple[float, float]], probs: list[float], fps: float, stride: int) -> list[tuple[float, float]]:
    """temporal/inference.py apply_anti_overmerge_segments (confidence left out)."""
    step = stride / fps
    out: list[tuple[float, float]] = []
    for start, end in segs:
        if end - start <= MAX_RALLY_S:
            out.append((start, end))
            continue
        lo = int(start / step)
        hi = min(int(end / step), len(probs))
        points: list[int] = []
        run = 0
        for i in range(lo, hi):
            if i < len(probs) and probs[i] < LOW_PROB:
                run += 1
                if run >= LOW_RUN:
                    points.append(i - LOW_RUN // 2)
                    run = 0
            else:
                run = 0
        if not points and end - start > MAX_RALLY_S * FORCED_MULTIPLIER:
            every = int(MAX_RALLY_S / step)
            points.extend(range(lo + every, hi, every))
        if not points:
            out.append((start, end))
            continue
        piece = start
        for p in sorted(set(points)):
            at = p * step
            if at > piece + 1.0:
                out.append((piece, at))
                piece = at
        if end > piece + 1.0:
            out.append((piece, end))
    return out


def seed_iou(a: tuple[float, float], b: tuple[float, float]) -> float:
    """evaluation/matching.py compute_iou."""
    inter = max(0.0, min(a[1], b[1]) - max(a[0], b[0]))
    union = (a[1] - a[0]) + (b[1] - b[0]) - inter
    return inter / union if union > 0 else 0.0


def seed_match(truth_ms: list[tuple[int, int]], pred_ms: list[tuple[int, int]], threshold: float) -> list[tuple[int, int]]:
    """evaluation/ground_truth.py loads rallies ORDER BY start_ms; evaluation/matching.py match_rallies then
    walks that order (in seconds). Returns (index in the given truth list, prediction index) pairs."""
    order = sorted(range(len(truth_ms)), key=lambda i: truth_ms[i][0])
    preds = [(s / 1000.0, e / 1000.0) for s, e in pred_ms]
    used: set[int] = set()
    pairs: list[tuple[int, int]] = []
    for t in order:
        gt = (truth_ms[t][0] / 1000.0, truth_ms[t][1] / 1000.0)
        best, best_iou = None, 0.0
        for p, pr in enumerate(preds):
            if p in used:
                continue
            iou = seed_iou(gt, pr)
            if iou >= threshold and iou > best_iou:
                best, best_iou = p, iou
        if best is not None:
            used.add(best)
            pairs.append((t, best))
    return sorted(pairs)


def seed_cut_frames(segs: list[tuple[float, float]], fps: float, total_frames: int, pad_start: float, pad_end: float) -> list[tuple[int, int]]:
    """temporal/processor.py rally_segments_to_time_segments, called with the cutter's padding."""
    frames = []
    for start, end in segs:
        s = min(int(max(0.0, start - pad_start) * fps), total_frames - 1)
        e = min(int((end + pad_end) * fps), total_frames - 1)
        if e > s:
            frames.append((s, e))
    if not frames:
        return []
    frames.sort(key=lambda f: f[0])
    merged = [frames[0]]
    for s, e in frames[1:]:
        if s <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], e))
        else:
            merged.append((s, e))
    return merged


def cut_cases(rng: random.Random, n: int) -> list[dict]:
    cases = []
    for _ in range(n):
        fps = rng.choice([30.0, 29.97, 25.0, 24.0])  # sources above 40 fps are cut from their 30 fps proxy
        stride = max(1, round(48 * fps / 30))
        step = stride / fps
        total = rng.randint(300, 6000)
        segs = []
        i = rng.randint(0, 5)
        while (i * step) * fps < total + 200:
            j = i + rng.randint(1, 30)
            segs.append((i * step, j * step + WINDOW_FRAMES / fps))
            i = j + rng.randint(1, 8)
        cases.append({"fps": fps, "total_frames": total, "segments_s": [list(x) for x in segs], "seed_frames": [list(f) for f in seed_cut_frames(segs, fps, total, 2.0, 3.0)]})
    return cases


def seed_sample_ranges(rallies_ms: list[tuple[int, int]], fps: float, duration_ms: int) -> dict:
    """training/sampler.py generate_training_samples: where each label's window starts may fall (the seed draws
    them with random.randint inside these inclusive ranges), per rally and per gap. No rallies: no samples."""
    if not rallies_ms:
        return {"rallies": [], "gaps": []}
    frame_count = int(duration_ms / 1000 * fps)
    rallies = sorted(rallies_ms)
    out_rallies = []
    for start_ms, end_ms in rallies:
        start, end = int(start_ms / 1000 * fps), int(end_ms / 1000 * fps)
        if end - start < WINDOW_FRAMES * 2:
            out_rallies.append({"service": None, "play": None})
            continue
        service_range = start + int(1.5 * fps) - start - WINDOW_FRAMES
        play_start = start + int(0.5 * fps) + int(1.0 * fps)
        play_range = end - int(0.5 * fps) - play_start - WINDOW_FRAMES
        out_rallies.append({
            "service": [start, start + service_range] if service_range > 0 else None,
            "play": [play_start, play_start + play_range] if play_range > 0 else None,
        })
    min_gap = int(2.0 * fps)
    gaps = []
    first = int(rallies[0][0] / 1000 * fps)
    if first > min_gap + WINDOW_FRAMES:
        gaps.append((0, first))
    for a, b in zip(rallies, rallies[1:]):
        gs, ge = int(a[1] / 1000 * fps), int(b[0] / 1000 * fps)
        if ge - gs > min_gap + WINDOW_FRAMES:
            gaps.append((gs, ge))
    last = int(rallies[-1][1] / 1000 * fps)
    if frame_count - last > min_gap + WINDOW_FRAMES:
        gaps.append((last, frame_count))
    return {"rallies": out_rallies, "gaps": [[gs, ge - WINDOW_FRAMES] for gs, ge in gaps]}


def sample_cases(rng: random.Random, n: int) -> list[dict]:
    cases = []
    for k in range(n):
        fps = rng.choice([30.0, 29.97, 25.0, 24.0])  # proxy rates (sources above 40 fps have 30 fps proxies)
        t = rng.randint(0, 6000)
        rallies = []
        for _ in range(0 if k % 10 == 0 else rng.randint(1, 8)):
            d = rng.choice([rng.randint(600, 1200), rng.randint(3000, 30000)])
            rallies.append((t, t + d))
            t += d + rng.choice([rng.randint(500, 3000), rng.randint(4000, 30000)])
        duration = t + rng.randint(0, 8000)
        rng.shuffle(rallies)
        cases.append({"fps": fps, "duration_ms": duration, "rallies": [list(r) for r in rallies], "seed_ranges": seed_sample_ranges(rallies, fps, duration)})
    return cases


def seed_window_labels(rallies_ms: list[tuple[int, int]], num_windows: int, fps: float, stride: int) -> list[int]:
    """training/sampler.py generate_sequence_labels, labeling_mode="center" (window count given)."""
    labels = []
    for i in range(num_windows):
        center_ms = ((i * stride + WINDOW_FRAMES // 2) / fps) * 1000
        labels.append(1 if any(s <= center_ms <= e for s, e in rallies_ms) else 0)
    return labels


def seed_video_split(video_ids: list[str], seed: int) -> dict:
    """temporal/training.py video_level_split (train_ratio 0.8) over videos loaded ORDER BY id, with
    CPython's own random.Random: the seed's split itself, not a transcription of it."""
    shuffled = sorted(video_ids)
    random.Random(seed).shuffle(shuffled)
    cut = int(len(shuffled) * 0.8)
    return {"train": shuffled[:cut], "val": shuffled[cut:]}


def label_cases(rng: random.Random, n: int) -> list[dict]:
    cases = []
    for _ in range(n):
        fps = rng.choice([30.0, 29.97, 25.0, 60.0])
        stride = max(1, round(48 * fps / 30))
        windows = rng.randint(20, 120)
        rallies, t = [], rng.randint(0, 5000)
        while t < windows * stride / fps * 1000:
            d = rng.randint(2000, 20000)
            # ends that land exactly on a window centre, where inclusive and exclusive ends differ
            if rng.random() < 0.5:
                c = int(t / 1000 * fps / stride)
                t = int(((c * stride + WINDOW_FRAMES // 2) / fps) * 1000)
            e = t + d
            if rng.random() < 0.5:
                c = int(e / 1000 * fps / stride)
                e = ((c * stride + WINDOW_FRAMES // 2) / fps) * 1000
            rallies.append((t, e))
            t = int(e) + rng.randint(3000, 20000)
        cases.append({"fps": fps, "stride": stride, "windows": windows, "rallies": [list(r) for r in rallies], "seed_labels": seed_window_labels(rallies, windows, fps, stride)})
    return cases


def split_cases(rng: random.Random, n: int) -> list[dict]:
    cases = []
    for _ in range(n):
        ids = ["%08x-%04x-4%03x-%04x-%012x" % (rng.getrandbits(32), rng.getrandbits(16), rng.getrandbits(12), rng.getrandbits(16), rng.getrandbits(48)) for _ in range(rng.randint(2, 60))]
        seed = rng.choice([42, 42, 0, 7, 1234])
        cases.append({"seed": seed, "video_ids": ids, "seed_split": seed_video_split(ids, seed)})
    return cases


def segment_cases(rng: random.Random, n: int) -> list[dict]:
    cases = []
    for k in range(n):
        fps = rng.choice([30.0, 30.0, 60.0, 25.0, 29.97, 59.94])
        stride = max(1, round(48 * fps / 30))
        step = stride / fps
        length = rng.randint(5, 40) if k % 4 == 0 else rng.randint(60, 180)
        preds: list[int] = []
        probs: list[float] = []
        while len(preds) < length:
            on = rng.random() < 0.55
            # long rally runs (some over 60 s and 90 s) so the overmerge rules are exercised
            span = rng.randint(1, int(100 / step)) if on and rng.random() < 0.5 else rng.randint(1, 12)
            for _ in range(span):
                preds.append(1 if on else 0)
                dip = rng.random() < (0.12 if on else 0.0)
                probs.append(round(rng.uniform(0.05, 0.39) if (dip or not on) else rng.uniform(0.41, 0.99), 2))
        preds, probs = preds[:length], probs[:length]
        segs = seed_anti_overmerge(seed_extract_segments(preds, fps, stride), probs, fps, stride)
        cases.append({"fps": fps, "stride": stride, "rally": preds, "prob": probs, "seed_segments_s": [list(s) for s in segs]})
    return cases


def matching_cases(rng: random.Random, n: int) -> list[dict]:
    cases = []
    for _ in range(n):
        t = 0
        truth = []
        for _ in range(rng.randint(2, 9)):
            d = rng.randint(3000, 25000)
            truth.append((t, t + d))
            # hand-made files can hold overlapping or duplicated rallies; that is where the order matters
            t += d + rng.randint(-d, 12000)
        preds = []
        for s, e in truth:
            if rng.random() < 0.85:
                preds.append((s + rng.randint(-4000, 4000), e + rng.randint(-4000, 4000)))
            if rng.random() < 0.3:  # a second, competing prediction near the same rally
                preds.append((s + rng.randint(-6000, 6000), e + rng.randint(-6000, 6000)))
        preds = [(min(a, b), max(a, b)) for a, b in preds]
        rng.shuffle(truth)
        rng.shuffle(preds)
        cases.append({"truth": [list(x) for x in truth], "pred": [list(x) for x in preds], "seed_pairs": [list(p) for p in seed_match(truth, preds, 0.5)]})
    return cases


def main() -> None:
    out = Path(__file__).resolve().parent.parent / "fixtures" / "fidelity"
    out.mkdir(parents=True, exist_ok=True)
    provenance = "seed behaviour transcribed from the source of mariiio/rally-cut analysis/ at commit 4bf9a106 (test/fidelity/seed_reference.py)"
    files = {
        "temporal-segments.json": {"provenance": provenance + "; temporal/inference.py extract_segments_from_predictions + apply_anti_overmerge_segments", "cases": segment_cases(random.Random(22), 160)},
        "cut-padding.json": {"provenance": provenance + "; temporal/processor.py rally_segments_to_time_segments with the cutter's -2.0 s / +3.0 s padding", "cases": cut_cases(random.Random(5), 120)},
        "training-samples.json": {"provenance": provenance + "; training/sampler.py generate_training_samples (start ranges; the seed draws inside them at random)", "cases": sample_cases(random.Random(11), 120)},
        "temporal-labels.json": {"provenance": provenance + "; training/sampler.py generate_sequence_labels (centre mode)", "cases": label_cases(random.Random(3), 100)},
        "temporal-split.json": {"provenance": "the seed's own code path: temporal/training.py video_level_split run with CPython's random module (mariiio/rally-cut analysis/ at commit 4bf9a106)", "cases": split_cases(random.Random(4), 60)},
        "evaluate-matching.json": {"provenance": provenance + "; evaluation/ground_truth.py (ORDER BY start_ms) + evaluation/matching.py match_rallies, IoU 0.5", "cases": matching_cases(random.Random(8), 150)},
    }
    for name, data in files.items():
        (out / name).write_text(json.dumps(data, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main()
