#!/usr/bin/env python3
"""VideoMAE fine-tuning on RallyCut training windows (run by `rallycut train modal` / the modal-train stage).

Reads DATA_DIR/samples.json and DATA_DIR/proxies.json (written by `rallycut train prepare`) and the proxies
they name (DATA_DIR/<proxy_path>). Each sample is a 16-frame window labelled no_play / play / service.
Frames are squashed to 224x224 (no crop), converted to RGB, scaled by 1/255 and normalised with the ImageNet
mean/std: the same contract extract-features uses at inference.

HF Trainer settings follow the seed: checkpoints every 100 steps (keeping 3), best model by macro-F1,
early stopping (patience 5, threshold 0.01), gradient accumulation 2, label smoothing 0.1, warmup 0.1,
weight decay 0.05, 25 epochs, lr 5e-5 (1e-5 with --resume-from-model), fp32 unless --fp16, training windows
augmented like the seed's (horizontal flip p=.5, brightness and contrast x U(0.9, 1.1)). Training starts
from the indoor game-state classifier when it is given (--pretrained), else from the Kinetics-finetuned
VideoMAE-base, as the seed does. A rerun resumes from the highest complete OUTPUT_DIR/checkpoints/checkpoint-N
(incomplete ones are deleted); --fresh deletes them all first.

Writes OUTPUT_DIR/model/ (HF files + model.onnx + model.json) and OUTPUT_DIR/metrics.json. model.onnx is
exported with torch.onnx.export (opset 17, dynamic batch): input `pixel_values` [B,16,3,224,224], outputs
`logits` [B,3] and `features` [B,hidden] (the pooled representation the classifier head reads).
"""
import argparse
import inspect
import json
import os
import re
import shutil
import sys
from pathlib import Path

import numpy as np

LABELS = ["no_play", "play", "service"]
WINDOW = 16
SIZE = 224
MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
# The seed's fallback start: a classifier checkpoint whose head reads mean-pooled tokens (the pretraining
# checkpoint MCG-NJU/videomae-base has use_mean_pooling=False, so its classifier would read token 0 only).
KINETICS = "MCG-NJU/videomae-base-finetuned-kinetics"
EARLY_STOPPING_PATIENCE = 5
EARLY_STOPPING_THRESHOLD = 0.01


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data-dir", default="data")
    p.add_argument("--output-dir", default="output")
    p.add_argument("--variant", default="beach")
    p.add_argument("--epochs", type=float, default=25)
    p.add_argument("--lr", type=float, default=None, help="default 5e-5, or 1e-5 with --resume-from-model")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--resume-from-model", default=None, metavar="DIR", help="HF VideoMAE folder to continue from")
    p.add_argument("--pretrained", default=None, metavar="DIR",
                   help="the indoor game-state classifier (HF folder) to start from; default: " + KINETICS)
    p.add_argument("--fp16", action="store_true", help="mixed precision on CUDA (the seed trains in fp32)")
    p.add_argument("--fresh", action="store_true", help="delete the checkpoints and start over")
    p.add_argument("--tiny", action="store_true", help="reduced-size VideoMAE from random weights (for checks)")
    p.add_argument("--max-steps", type=int, default=-1)
    p.add_argument("--save-steps", type=int, default=100)
    p.add_argument("--seed", type=int, default=42)
    return p.parse_args(argv)


def latest_checkpoint(ckpt_dir: Path):
    """The complete checkpoint-N folder with the highest N, or None. Trainer writes trainer_state.json after
    the weights and optimizer, so a folder without it was cut off mid-save (e.g. by preemption). It is deleted:
    Trainer's keep-3 rotation would count it and delete a good checkpoint in its place."""
    best = None
    if ckpt_dir.is_dir():
        for d in sorted(ckpt_dir.iterdir()):
            m = re.fullmatch(r"checkpoint-(\d+)", d.name)
            if not (m and d.is_dir()):
                continue
            if not (d / "trainer_state.json").is_file():
                shutil.rmtree(d)
                print(f"deleted {d.name}: incomplete (no trainer_state.json)", flush=True)
                continue
            if best is None or int(m.group(1)) > best[0]:
                best = (int(m.group(1)), d)
    return best[1] if best else None


def augment_frames(frames, rng):
    """The seed's training augmentation on uint8 RGB frames [16,H,W,3]: a horizontal flip with p=.5, then
    brightness and contrast (about the mean) each scaled by U(0.9, 1.1), clipped to 0..255."""
    if rng.random() < 0.5:
        frames = frames[:, :, ::-1, :].copy()
    frames = np.clip(frames * rng.uniform(0.9, 1.1), 0, 255).astype(np.uint8)
    mean = frames.mean()
    return np.clip((frames - mean) * rng.uniform(0.9, 1.1) + mean, 0, 255).astype(np.uint8)


def read_window(path: str, start: int, rng=None):
    """16 frames from `start`, squashed to 224x224, RGB (augmented when `rng` is given), /255,
    ImageNet-normalised: float32 [16,3,224,224]."""
    import cv2

    cap = cv2.VideoCapture(path)
    if not cap.isOpened():
        raise RuntimeError(f"cannot open {path}")
    cap.set(cv2.CAP_PROP_POS_FRAMES, start)
    frames = []
    while len(frames) < WINDOW:
        ok, bgr = cap.read()
        if not ok:
            break
        rgb = cv2.cvtColor(cv2.resize(bgr, (SIZE, SIZE), interpolation=cv2.INTER_LINEAR), cv2.COLOR_BGR2RGB)
        frames.append(rgb)
    cap.release()
    if not frames:
        raise RuntimeError(f"{path}: no frames at {start}")
    while len(frames) < WINDOW:  # a window touching the end repeats the last frame
        frames.append(frames[-1])
    stacked = np.stack(frames)
    if rng is not None:
        stacked = augment_frames(stacked, rng)
    x = (stacked.astype(np.float32) / 255.0 - MEAN) / STD
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2))


class WindowDataset:
    def __init__(self, samples, proxies, augment=False):
        self.samples = samples
        self.proxies = proxies
        self.augment = augment

    def __len__(self):
        return len(self.samples)

    def __getitem__(self, i):
        import torch

        s = self.samples[i]
        # numpy's global generator, as the seed: seeded by set_seed, and per DataLoader worker by Trainer
        x = read_window(self.proxies[s["video_id"]], int(s["start_frame"]), np.random if self.augment else None)
        return {"pixel_values": torch.from_numpy(x), "labels": LABELS.index(s["label"])}


def macro_f1(pred, true):
    """Mean F1 over the classes present in the labels or the predictions, as sklearn's average="macro"."""
    f1s = []
    for c in sorted(set(np.asarray(pred).tolist()) | set(np.asarray(true).tolist())):
        tp = int(np.sum((pred == c) & (true == c)))
        fp = int(np.sum((pred == c) & (true != c)))
        fn = int(np.sum((pred != c) & (true == c)))
        f1s.append(0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn))
    return float(np.mean(f1s)) if f1s else 0.0


def compute_metrics(eval_pred):
    logits, labels = eval_pred
    if isinstance(logits, (tuple, list)):
        logits = logits[0]
    pred = np.argmax(logits, axis=-1)
    return {"macro_f1": macro_f1(pred, labels), "accuracy": float(np.mean(pred == labels))}


def build_model(args):
    from transformers import VideoMAEConfig, VideoMAEForVideoClassification

    id2label = dict(enumerate(LABELS))
    label2id = {v: k for k, v in id2label.items()}
    if args.tiny:
        cfg = VideoMAEConfig(image_size=SIZE, patch_size=16, num_channels=3, num_frames=WINDOW, tubelet_size=2,
                             hidden_size=64, num_hidden_layers=2, num_attention_heads=2, intermediate_size=128,
                             use_mean_pooling=True, num_labels=3, id2label=id2label, label2id=label2id)
        return VideoMAEForVideoClassification(cfg), "videomae-tiny-random"
    source = args.resume_from_model or args.pretrained or KINETICS
    print(f"starting from {source}", flush=True)
    model = VideoMAEForVideoClassification.from_pretrained(source, num_labels=3, id2label=id2label, label2id=label2id,
                                                           ignore_mismatched_sizes=True)
    return model, f"videomae-{args.variant}"


def exportable(model):
    """pixel_values -> (logits, features), mirroring VideoMAEForVideoClassification.forward."""
    import torch

    class Wrapped(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, pixel_values):
            seq = self.m.videomae(pixel_values)[0]
            feats = self.m.fc_norm(seq.mean(1)) if self.m.fc_norm is not None else seq[:, 0]
            return self.m.classifier(feats), feats

    return Wrapped(model).eval()


def export_onnx(model, path: Path):
    import torch

    wrapped = exportable(model.float().cpu())
    dummy = torch.randn(2, WINDOW, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(0))
    # torch >= 2.9 exports with dynamo by default: opset 18 and an external data file instead of one opset-17 file
    legacy = {"dynamo": False} if "dynamo" in inspect.signature(torch.onnx.export).parameters else {}
    torch.onnx.export(wrapped, (dummy,), str(path), opset_version=17, input_names=["pixel_values"],
                      output_names=["logits", "features"], do_constant_folding=True,
                      dynamic_axes={"pixel_values": {0: "batch"}, "logits": {0: "batch"}, "features": {0: "batch"}},
                      **legacy)
    with torch.no_grad():
        ref_logits, ref_feats = wrapped(dummy)
    try:
        import onnxruntime as ort
    except ImportError:
        print("onnxruntime not installed: ONNX export not checked against PyTorch", flush=True)
        return None
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    logits, feats = sess.run(["logits", "features"], {"pixel_values": dummy.numpy()})
    diff = float(np.max(np.abs(logits - ref_logits.numpy())))
    fdiff = float(np.max(np.abs(feats - ref_feats.numpy())))
    print(f"ONNX check: max |logits - torch| = {diff:.2e}, max |features - torch| = {fdiff:.2e}", flush=True)
    if diff > 1e-3:
        raise RuntimeError(f"ONNX logits differ from PyTorch by {diff:.2e} (> 1e-3)")
    return diff


def warmup_argument(training_arguments, ratio):
    """transformers 4.x takes warmup_ratio; 5.x dropped it and reads a float warmup_steps below 1 as a ratio."""
    if "warmup_ratio" in inspect.signature(training_arguments.__init__).parameters:
        return {"warmup_ratio": ratio}
    return {"warmup_steps": ratio}


def main(argv=None):
    args = parse_args(argv)
    import torch
    from transformers import Trainer, TrainingArguments, set_seed

    set_seed(args.seed)
    data, out = Path(args.data_dir), Path(args.output_dir)
    ckpt_dir, model_dir = out / "checkpoints", out / "model"
    if args.fresh and ckpt_dir.exists():
        shutil.rmtree(ckpt_dir)
        print("--fresh: deleted the checkpoints", flush=True)

    samples = json.loads((data / "samples.json").read_text())["samples"]
    proxies = {v["video_id"]: str(data / v["proxy_path"]) for v in json.loads((data / "proxies.json").read_text())["videos"]}
    missing = sorted({s["video_id"] for s in samples} - proxies.keys())
    if missing:
        sys.exit(f"samples name videos without a proxy: {', '.join(missing)}")
    train = [s for s in samples if s["split"] == "train"]
    val = [s for s in samples if s["split"] == "val"]
    print(f"samples: {len(train)} train, {len(val)} val; device {'cuda' if torch.cuda.is_available() else 'cpu'}", flush=True)

    lr = args.lr if args.lr is not None else (1e-5 if args.resume_from_model else 5e-5)
    from transformers import EarlyStoppingCallback
    model, name = build_model(args)
    has_val = len(val) > 0
    targs = TrainingArguments(
        output_dir=str(ckpt_dir), num_train_epochs=args.epochs, max_steps=args.max_steps, learning_rate=lr,
        per_device_train_batch_size=args.batch_size, per_device_eval_batch_size=args.batch_size,
        gradient_accumulation_steps=2, label_smoothing_factor=0.1, weight_decay=0.05, **warmup_argument(TrainingArguments, 0.1),
        save_strategy="steps", save_steps=args.save_steps, save_total_limit=3,
        eval_strategy="steps" if has_val else "no", eval_steps=args.save_steps, load_best_model_at_end=has_val,
        **({"metric_for_best_model": "macro_f1", "greater_is_better": True} if has_val else {}),
        logging_steps=10, fp16=args.fp16 and torch.cuda.is_available(), dataloader_num_workers=min(4, os.cpu_count() or 1),
        remove_unused_columns=False, report_to=[], seed=args.seed)
    # Early stopping needs the validation metric; without validation windows training runs its epochs.
    stopping = [EarlyStoppingCallback(early_stopping_patience=EARLY_STOPPING_PATIENCE,
                                      early_stopping_threshold=EARLY_STOPPING_THRESHOLD)] if has_val else []
    trainer = Trainer(model=model, args=targs, train_dataset=WindowDataset(train, proxies, augment=True),
                      eval_dataset=WindowDataset(val, proxies) if has_val else None,
                      compute_metrics=compute_metrics if has_val else None, callbacks=stopping)
    resume = latest_checkpoint(ckpt_dir)
    print(f"resuming from {resume.name}" if resume else "starting from step 0 (no checkpoint)", flush=True)
    result = trainer.train(resume_from_checkpoint=str(resume) if resume else None)

    final_eval = trainer.evaluate() if has_val else {}
    if model_dir.exists():
        shutil.rmtree(model_dir)
    model_dir.mkdir(parents=True)
    trainer.save_model(str(model_dir))  # the best checkpoint's weights (load_best_model_at_end)
    onnx_diff = export_onnx(trainer.model, model_dir / "model.onnx")
    hidden = int(trainer.model.config.hidden_size)
    spec = {
        "format": 1, "name": name, "kind": "videomae",
        "description": ("Reduced-size VideoMAE from random weights (--tiny); for checks, not predictions."
                        if args.tiny else f"HF VideoMAE fine-tuned on rally windows ({args.variant}), exported with "
                                          "torch.onnx.export (opset 17, dynamic batch)."),
        "labels": LABELS, "input_name": "pixel_values", "window": WINDOW, "input_size": SIZE,
        "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225], "logits_output": "logits",
        "features_output": "features", "feature_dim": hidden,
    }
    (model_dir / "model.json").write_text(json.dumps(spec, indent=2, sort_keys=True) + "\n")
    metrics = {
        "variant": args.variant, "lr": lr, "epochs": args.epochs, "batch_size": args.batch_size,
        "global_step": trainer.state.global_step, "train_loss": float(result.training_loss),
        "best_metric": trainer.state.best_metric, "best_model_checkpoint": trainer.state.best_model_checkpoint,
        "eval": {k: float(v) for k, v in final_eval.items() if isinstance(v, (int, float))},
        "onnx_max_abs_diff": onnx_diff, "resumed_from": resume.name if resume else None,
        "started_from": "videomae-tiny-random" if args.tiny else (args.resume_from_model or args.pretrained or KINETICS),
        "fp16": bool(targs.fp16),
        "samples": {"train": len(train), "val": len(val)},
    }
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2, sort_keys=True) + "\n")
    print(f"done: step {trainer.state.global_step}, best macro-F1 {trainer.state.best_metric}", flush=True)


if __name__ == "__main__":
    main()
