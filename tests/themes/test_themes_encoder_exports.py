"""Both export formats of the risk encoder, read by themes/encoder.py: the ninth round's (one
output, `logit`, the risk alone) and the tenth round's (`logits`, one per label named in
encoder.json, any_risk first). The exports here are tiny ONNX graphs built in the test, run
by onnxruntime like the real one: each logit is a fixed multiple of the sum of the word-piece
ids, so what the encoder reports can be worked out by hand."""

from __future__ import annotations

import json
import math
import shutil
from datetime import date
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from themes import load_tagger
from themes.build import META_KEY, BuildSettings
from themes.codebook import load_codebook
from themes.encoder import ENCODER_LABELS_KEY, RiskEncoder, digest_of, shipped_encoder_path
from themes.labelled import read_labelled
from themes.training import BuildOutcome, build_to

SCALES = [0.001, -0.002, 0.0005]  # any_risk, housing, barrier: logit = scale * sum of ids
LABELS = ["any_risk", "housing", "barrier"]
STARTER = Path(__file__).resolve().parents[2] / "themes" / "data" / "labelled" / "starter.jsonl"


def export(
    folder: Path, output: str, labels: list[str] | None, scales: list[float] = SCALES
) -> Path:
    """A tiny export: `output` is [batch] (the first scale) or [batch, len(scales)]."""
    folder.mkdir()
    shutil.copy(shipped_encoder_path() / "tokenizer.json", folder / "tokenizer.json")
    single = output == "logit"
    row = np.array([scales[:1] if single else scales], dtype=np.float32)
    nodes = [
        helper.make_node("Cast", ["input_ids"], ["ids"], to=TensorProto.FLOAT),
        helper.make_node("ReduceSum", ["ids", "axis"], ["total"], keepdims=1),
        helper.make_node("MatMul", ["total", "scales"], ["row" if single else output]),
    ]
    if single:
        nodes.append(helper.make_node("Squeeze", ["row", "axis"], [output]))
    graph = helper.make_graph(
        nodes,
        "tiny",
        [
            helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "tokens"]),
            helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["b", "t"]),
        ],
        [helper.make_tensor_value_info(output, TensorProto.FLOAT, None)],
        [
            numpy_helper.from_array(np.array([1], dtype=np.int64), "axis"),
            numpy_helper.from_array(row, "scales"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.save(model, folder / "model.onnx")
    if labels is not None:
        (folder / "encoder.json").write_text(json.dumps({"labels": labels}))
    return folder


def expected(encoder: RiskEncoder, text: str, scale: float) -> float:
    total = sum(encoder.tokenizer.encode(text).ids)
    return 1 / (1 + math.exp(-scale * total))


TEXT = "the damp is back in the bedroom"


def test_a_multi_label_export_gives_risk_and_each_label(tmp_path: Path) -> None:
    encoder = RiskEncoder(export(tmp_path / "multi", "logits", LABELS))
    [(risk, others)] = encoder.predict([TEXT])
    assert risk == pytest.approx(expected(encoder, TEXT, SCALES[0]), rel=1e-5)
    assert set(others) == {"housing", "barrier"}
    assert others["housing"] == pytest.approx(expected(encoder, TEXT, SCALES[1]), rel=1e-5)
    assert others["barrier"] == pytest.approx(expected(encoder, TEXT, SCALES[2]), rel=1e-5)
    assert encoder.scores([TEXT]) == [risk]


def test_a_risk_only_export_still_reads_and_hashes_as_before(tmp_path: Path) -> None:
    folder = export(tmp_path / "single", "logit", None)
    encoder = RiskEncoder(folder)
    [(risk, others)] = encoder.predict([TEXT])
    assert risk == pytest.approx(expected(encoder, TEXT, SCALES[0]), rel=1e-5)
    assert others == {}
    before = digest_of(folder)
    (folder / "encoder.json").write_text(json.dumps({"task": "described"}))
    assert digest_of(folder) == before  # the description alone does not change behaviour


def test_the_labels_are_part_of_the_digest(tmp_path: Path) -> None:
    folder = export(tmp_path / "multi", "logits", LABELS)
    before = digest_of(folder)
    (folder / "encoder.json").write_text(json.dumps({"labels": ["any_risk", "money", "idea"]}))
    assert digest_of(folder) != before


@pytest.mark.parametrize("labels", [None, [], ["housing", "any_risk", "barrier"]])
def test_a_multi_label_export_must_name_its_labels_risk_first(
    tmp_path: Path, labels: list[str] | None
) -> None:
    with pytest.raises(ValueError, match="must list the labels, any_risk first"):
        RiskEncoder(export(tmp_path / "multi", "logits", labels))


def test_a_label_list_of_the_wrong_length_is_an_error(tmp_path: Path) -> None:
    encoder = RiskEncoder(export(tmp_path / "multi", "logits", ["any_risk", "housing"]))
    with pytest.raises(ValueError, match=r"gives 3 outputs, and its encoder\.json names 2 labels"):
        encoder.predict([TEXT])


def test_a_build_with_a_multi_label_export_blends_it_and_records_its_labels(
    tmp_path: Path,
) -> None:
    codebook, messages = load_codebook(), read_labelled(STARTER)
    labels = ["any_risk", *codebook.ids("theme"), *codebook.ids("signal")]
    scales = [(-1) ** n * 0.0001 * n for n in range(len(labels))]
    folder = export(tmp_path / "multi", "logits", labels, scales)

    def build(name: str, encoder: Path) -> BuildOutcome:
        return build_to(
            tmp_path / name,
            codebook,
            messages[:40],
            tune=False,
            settings=BuildSettings(epochs=3),
            today=date(2026, 11, 27),
            calibration=messages[40:],
            encoder=encoder,
        )

    built, risk_only = build("built", folder), build("risk_only", shipped_encoder_path())
    assert risk_only.settings.thresholds.encoder_weight == 0  # nothing to blend: not searched
    tagger = load_tagger(built.path)
    assert tagger.policy.thresholds == built.settings.thresholds
    assert tagger.nlp.meta[META_KEY]["encoder"]["labels"] == labels
    doc = tagger.nlp("the damp is back in the bedroom")
    assert set(doc.user_data[ENCODER_LABELS_KEY]) == set(labels[1:])
