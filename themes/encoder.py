"""The safeguarding encoder: a fine-tuned small transformer read with onnxruntime.

all-MiniLM-L6-v2 fine-tuned on the training files for one question, at risk or not
(`scripts/risk_encoder.py train`), exported with mean pooling and its head as one
ONNX graph with int8 weights (`... export`). It reads words in context, which the phrases
and the bag-of-words classifier cannot ("I keep thinking everyone would be better off"),
so the tagger asks it about every message the phrases and the classifier left unflagged
(themes/tagger.py). No torch at run time: onnxruntime, the model's own word-piece tokenizer
(`tokenizers`) and numpy. See themes/README.md, "Issue 4, ninth round".
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
from collections.abc import Iterable, Iterator, Sequence
from functools import cached_property
from importlib import resources
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np
from spacy.language import Language
from spacy.tokens import Doc

# One thread per process: `themes tag` forks its workers, and a conversation tags one
# message at a time in its own thread; the tokenizer's thread pool would not survive a fork.
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ENCODER_DIR = "risk_encoder"  # themes/data/risk_encoder: the trained export `themes build` adds
ENCODER = "lp_risk_encoder"  # the pipeline component (and its directory in a built pipeline)
ENCODER_KEY = "lp_encoder_risk"  # doc.user_data: the encoder's risk probability
# doc.user_data: the encoder's theme and signal probabilities by label, when its export has them
ENCODER_LABELS_KEY = "lp_encoder_labels"
RISK_OUTPUT = "any_risk"  # the first of a multi-label export's labels (encoder.json "labels")
MODEL_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
INFO_FILE = "encoder.json"
MAX_TOKENS = 128  # word pieces, as in training: longer messages are cut


class RiskEncoder:
    """Risk probabilities for texts."""

    def __init__(self, directory: Path, threads: int = 1) -> None:
        # imported here: a process that tags without the encoder need not load onnxruntime
        import onnxruntime
        from tokenizers import Tokenizer

        self.directory = directory
        self.tokenizer = Tokenizer.from_file(str(directory / TOKENIZER_FILE))
        self.tokenizer.enable_truncation(max_length=MAX_TOKENS)
        self.tokenizer.no_padding()
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self.session = onnxruntime.InferenceSession(
            str(directory / MODEL_FILE), options, providers=["CPUExecutionProvider"]
        )
        # Since the tenth round the export has one logit per label (output "logits", its
        # labels in encoder.json, any_risk first); the ninth round's had the risk logit alone.
        self.output = self.session.get_outputs()[0].name
        self.labels: tuple[str, ...] = ()
        if self.output == "logits":
            self.labels = tuple(_info(directory).get("labels", ()))
            if not self.labels or self.labels[0] != RISK_OUTPUT:
                where = directory / INFO_FILE
                raise ValueError(f"{where} must list the labels, {RISK_OUTPUT} first")

    @cached_property
    def digest(self) -> str:
        """The hash of the model and tokenizer files, computed when first asked (by a build:
        hashing 23 MB would add 150 ms to every load that only tags)."""
        return digest_of(self.directory)

    def scores(self, texts: Sequence[str]) -> list[float]:
        """The probability that each text is from someone at risk."""
        return [risk for risk, _ in self.predict(texts)]

    def predict(self, texts: Sequence[str]) -> list[tuple[float, dict[str, float]]]:
        """For each text, the probability that it is from someone at risk, and the other
        labels' probabilities (themes and signals; none from a risk-only export).

        One text per run: the int8 weights meet activations quantised per run, so a batch
        (even of texts the same length, with no padding) would move each score a little
        with its neighbours. Run alone, a message scores the same in a conversation as in
        any batch of `themes tag`, at about 70% of the batched speed (measured: 163 against
        228 messages a second on one core)."""
        found = []
        labels = self.labels[1:]
        for encoding in self.tokenizer.encode_batch(list(texts)):
            ids = np.array([encoding.ids], dtype=np.int64)
            feed = {"input_ids": ids, "attention_mask": np.ones_like(ids)}
            logits = np.asarray(self.session.run([self.output], feed)[0]).reshape(-1).tolist()
            if len(logits) != 1 + len(labels):
                raise ValueError(
                    f"the export in {self.directory} gives {len(logits)} outputs, and its "
                    f"{INFO_FILE} names {1 + len(labels)} labels"
                )
            others = {label: _sigmoid(x) for label, x in zip(labels, logits[1:], strict=True)}
            found.append((_sigmoid(logits[0]), others))
        return found


def _sigmoid(logit: float) -> float:
    """1 / (1 + e^-logit), without overflow for any logit."""
    if logit >= 0:
        return 1.0 / (1.0 + math.exp(-logit))
    small = math.exp(logit)
    return small / (1.0 + small)


def digest_of(directory: Path) -> str:
    """A short hash of the encoder's model and tokenizer files (part of the pipeline version)."""
    hashed = hashlib.sha256()
    for name in (MODEL_FILE, TOKENIZER_FILE):
        hashed.update((directory / name).read_bytes())
    labels = _info(directory).get("labels")
    if labels:  # which output is which label (a risk-only export hashes as before)
        hashed.update(json.dumps(labels).encode())
    return hashed.hexdigest()[:8]


def has_encoder(directory: Path) -> bool:
    """Whether `directory` holds an exported encoder."""
    return (directory / MODEL_FILE).is_file() and (directory / TOKENIZER_FILE).is_file()


def copy_files(source: Path, target: Path) -> None:
    """Copy an exported encoder (and its description, if any) into `target`."""
    target.mkdir(parents=True, exist_ok=True)
    if source.resolve() == target.resolve():
        return
    for name in (MODEL_FILE, TOKENIZER_FILE, INFO_FILE):
        if (source / name).is_file():
            shutil.copyfile(source / name, target / name)


def _info(directory: Path) -> dict[str, Any]:
    """encoder.json: how the encoder was trained, and its labels ({} when absent)."""
    path = directory / INFO_FILE
    return dict(json.loads(path.read_text())) if path.is_file() else {}


def describe(encoder: RiskEncoder) -> dict[str, Any]:
    """What encoder.json says of how the encoder was trained, with the files' digest."""
    return {**_info(encoder.directory), "digest": encoder.digest}


def shipped_encoder_path() -> Path:
    """themes/data/risk_encoder/ inside the installed package (what `themes build` adds)."""
    return Path(str(resources.files("themes").joinpath("data", ENCODER_DIR)))


class RiskEncoderComponent:
    """Pipeline component: each doc's risk probability in doc.user_data[ENCODER_KEY], and its
    theme and signal probabilities in doc.user_data[ENCODER_LABELS_KEY] (a multi-label export).

    Saved with the pipeline (its model and tokenizer files in the component's directory), so
    a built pipeline is complete; `load_tagger(..., encoder=False)` leaves it out.
    """

    def __init__(self, nlp: Language, name: str, threads: int) -> None:
        self.name = name
        self.threads = threads
        self.encoder: RiskEncoder | None = None

    def load(self, directory: Path) -> RiskEncoderComponent:
        """Read an exported encoder (model.onnx and tokenizer.json) from `directory`."""
        self.encoder = RiskEncoder(directory, self.threads)
        return self

    def _scored(self, docs: Sequence[Doc]) -> None:
        if self.encoder is None:
            raise ValueError(f"{self.name} has no encoder: load one first")
        predicted = self.encoder.predict([doc.text for doc in docs])
        for doc, (risk, others) in zip(docs, predicted, strict=True):
            doc.user_data[ENCODER_KEY] = risk
            if others:
                doc.user_data[ENCODER_LABELS_KEY] = others

    def __call__(self, doc: Doc) -> Doc:
        self._scored([doc])
        return doc

    def pipe(self, docs: Iterable[Doc], batch_size: int = 256) -> Iterator[Doc]:
        """Score docs a batch at a time (tokenized together, then run one by one)."""
        stream = iter(docs)
        while batch := list(islice(stream, batch_size)):
            self._scored(batch)
            yield from batch

    def to_disk(self, path: Path, *, exclude: Iterable[str] = ()) -> None:
        if self.encoder is None:
            raise ValueError(f"{self.name} has no encoder to save")
        copy_files(self.encoder.directory, Path(path))

    def from_disk(self, path: Path, *, exclude: Iterable[str] = ()) -> RiskEncoderComponent:
        return self.load(Path(path))


@Language.factory(ENCODER, default_config={"threads": 1})
def make_risk_encoder(nlp: Language, name: str, threads: int) -> RiskEncoderComponent:
    """The `lp_risk_encoder` factory (spaCy calls it when a pipeline is built or loaded)."""
    return RiskEncoderComponent(nlp, name, threads)
