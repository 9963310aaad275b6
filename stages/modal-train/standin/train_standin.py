#!/usr/bin/env python3
"""STAND-IN for train.py, used with the local stand-in for Modal's cloud (tests, demos). NOT a trainer.

It takes train.py's arguments and reads the same inputs (samples.json, proxies.json and every proxy it
names), then walks through the steps train.py would take, writing numbered checkpoints every
--save-steps steps (keeping 3) to OUTPUT_DIR/checkpoints and resuming from the highest one, exactly as
train.py resumes. It ends by writing OUTPUT_DIR/model/ and OUTPUT_DIR/metrics.json. With
--resume-from-model DIR holding an ONNX model (e.g. the baseline from `rallycut model build-baseline`),
the model it writes is that one, unchanged: a real model.onnx + model.json travel through the whole
upload → train → verified download path. Otherwise the model files are placeholders, labelled as such.
It needs only the standard library (no torch), so it runs wherever python3 does.

Crash simulation (per attempt, RALLYCUT_ATTEMPT is set by the executor):
  STANDIN_KILL_AT_STEP=N    SIGKILL itself when reaching step N ...
  STANDIN_KILL_ATTEMPTS=1,2 ... on these attempts only (default: 1)
  STANDIN_FAIL=1            exit 1 at once on every attempt
  STANDIN_STEP_SECONDS=S    sleep S seconds per step (so a test can preempt the job mid-run)
"""
import argparse
import hashlib
import json
import os
import re
import shutil
import signal
import sys
import time
from pathlib import Path


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--data-dir", default="data")
    p.add_argument("--output-dir", default="output")
    p.add_argument("--variant", default="beach")
    p.add_argument("--epochs", type=float, default=25)
    p.add_argument("--lr", type=float)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--resume-from-model")
    p.add_argument("--fresh", action="store_true")
    p.add_argument("--tiny", action="store_true")
    p.add_argument("--max-steps", type=int, default=-1)
    p.add_argument("--save-steps", type=int, default=100)
    args = p.parse_args()
    attempt = int(os.environ.get("RALLYCUT_ATTEMPT", "1"))
    print(f"train stand-in (not VideoMAE), attempt {attempt}", flush=True)
    if os.environ.get("STANDIN_FAIL") == "1":
        print("STANDIN_FAIL=1: failing on purpose", flush=True)
        sys.exit(1)

    data, out = Path(args.data_dir), Path(args.output_dir)
    ckpts = out / "checkpoints"
    if args.fresh and ckpts.exists():
        shutil.rmtree(ckpts)
    samples = json.loads((data / "samples.json").read_text())["samples"]
    videos = json.loads((data / "proxies.json").read_text())["videos"]
    digest = hashlib.sha256()
    for v in videos:  # read every proxy, as the real trainer would decode them
        digest.update((data / v["proxy_path"]).read_bytes())
    train = [s for s in samples if s["split"] == "train"]
    per_epoch = max(1, -(-len(train) // (args.batch_size * 2)))
    total = args.max_steps if args.max_steps > 0 else int(per_epoch * args.epochs)

    step = 0
    if ckpts.is_dir():
        found = [int(m.group(1)) for d in ckpts.iterdir() if (m := re.fullmatch(r"checkpoint-(\d+)", d.name))]
        if found:
            step = max(found)
    resumed = step
    print(f"resuming from checkpoint-{step}" if step else "starting from step 0 (no checkpoint)", flush=True)

    kill_at = int(os.environ.get("STANDIN_KILL_AT_STEP", "0"))
    kill_attempts = {int(a) for a in os.environ.get("STANDIN_KILL_ATTEMPTS", "1").split(",") if a}
    step_seconds = float(os.environ.get("STANDIN_STEP_SECONDS", "0"))
    while step < total:
        step += 1
        if step_seconds:
            time.sleep(step_seconds)
        if step == kill_at and attempt in kill_attempts:
            print(f"step {step}: killed (simulated preemption)", flush=True)
            os.kill(os.getpid(), signal.SIGKILL)
        if step % args.save_steps == 0:
            d = ckpts / f"checkpoint-{step}"
            d.mkdir(parents=True, exist_ok=True)
            (d / "trainer_state.json").write_text(json.dumps({"global_step": step}) + "\n")
            print(f"step {step}: saved checkpoint-{step}", flush=True)
            kept = sorted((int(x.name.split("-")[1]) for x in ckpts.iterdir()), reverse=True)
            for old in kept[3:]:
                shutil.rmtree(ckpts / f"checkpoint-{old}")

    model = out / "model"
    if model.exists():
        shutil.rmtree(model)
    model.mkdir(parents=True)
    base = Path(args.resume_from_model) if args.resume_from_model else None
    if base and (base / "model.onnx").is_file():
        for name in ("config.json", "model.onnx", "model.json"):
            if (base / name).is_file():
                shutil.copyfile(base / name, model / name)
    else:
        (model / "config.json").write_text(json.dumps({"model_type": "stand-in", "note": "not VideoMAE"}, indent=2) + "\n")
        (model / "model.onnx").write_bytes(b"STAND-IN, NOT AN ONNX MODEL\n" + digest.digest())
        (model / "model.json").write_text(json.dumps({"format": 1, "name": "train-stand-in", "kind": "stand-in"}, indent=2) + "\n")
    (out / "metrics.json").write_text(json.dumps({"global_step": step, "resumed_from_step": resumed, "samples": len(samples)}) + "\n")
    print(f"done: step {step}", flush=True)


if __name__ == "__main__":
    main()
