"""Build the tagging pipeline from the codebook and labelled training messages.

blank English -> lp_lemmatizer -> lp_codebook_rules -> lp_safeguarding -> lp_textcat
(-> lp_risk_encoder, when the build is given an exported encoder: themes/encoder.py).
Everything is seeded, sorted and dated by the caller, so the same inputs give the same files.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any, cast

import spacy
from spacy.language import Language
from spacy.training import Example
from thinc.api import fix_random_seed

from themes import components
from themes.classifier import BOW_MODEL, ScoreRowTextCategorizer
from themes.codebook import Codebook
from themes.components import PhraseComponent, SafeguardingComponent, pipe_of
from themes.encoder import ENCODER, RiskEncoderComponent, describe, has_encoder
from themes.joined import joined_messages
from themes.labelled import LabelledMessage
from themes.lemmas import LemmaNormaliser, english_lemma_table, merge_spellings
from themes.phrases import compile_phrases

TEXTCAT = "lp_textcat"
RISK_LABEL = "any_risk"  # classifier label: the message has any safeguarding category
META_KEY = "listening_post"


@dataclass(frozen=True)
class Thresholds:
    """Classifier probabilities above which a label is given (see decide.py)."""

    theme: float = 0.5
    signal: float = 0.45
    safeguarding: float = 0.5
    weak: float = 0.15  # a weak phrase counts when the classifier gives at least this
    # a strong theme or signal phrase counts when the classifier gives at least this (0: always;
    # a passing mention, "the bus" in a message about the food bank, scores near 0)
    strong: float = 0.0
    weak_risk: float = 0.1  # a weak risk phrase counts when any_risk is at least this
    # > 0: in a long message, the safeguarding decision also reads the classifier's scores of
    # the window around a weak risk phrase and of windows clear of vetoed phrases, times this
    # weight (see decide.py); 0: whole-message scores only
    risk_window: float = 0.0
    # a strong risk phrase flags the message when any_risk (whole message, or the best
    # window the phrase lies in, unweighted, when window rows are kept) is at least this,
    # taken as at most `weak_risk` (0: always; also without a classifier). Unlike `strong`,
    # the floor of theme and signal phrases, it is about safeguarding. The
    # classifier, trained on near misses, scores a phrase in a resolved past, the news or a
    # job description near 0; tuned by cross-validation, 0 wins a tie (recall first)
    strong_risk: float = 0.0
    # > 0: a message nothing above flagged is flagged when the risk encoder (themes/encoder.py,
    # a fine-tuned transformer that reads context) gives it at least this probability, even
    # over a cancelled phrase; 0: the encoder is not asked. Chosen by the calibration on the
    # development splits (the encoder has seen every training file, so cross-validation
    # cannot judge it).
    encoder: float = 0.0
    # > 0: theme and signal scores are the classifier's times (1 - this) plus the risk
    # encoder's own theme and signal probabilities (a multi-label export) times this; 0: the
    # classifier's alone. Chosen, with the theme and signal thresholds, by the calibration.
    encoder_weight: float = 0.0


@dataclass(frozen=True)
class BuildSettings:
    """Everything that shapes a build, recorded in the pipeline meta."""

    ngram_size: int = 1
    hash_length: int = 16384  # classifier feature table rows: small keeps the model ~2 MB
    epochs: int = 25
    dropout: float = 0.2
    batch_size: int = 8
    seed: int = 0
    use_examples: bool = True  # codebook example phrases as extra (partly labelled) training text
    use_rules: bool = True
    use_classifier: bool = True
    rule_features: bool = True  # phrase hits are also classifier features
    rules_decide: bool = True  # a strong phrase alone gives its label
    risk_copies: int = 1  # risk messages are repeated this often in training (recall first)
    # Messages longer than `window` tokens are also scored in windows of that many tokens, and
    # the labels of `window_kinds` get the higher of the whole-message and best window score
    # (0: whole messages only). See ScoreRowTextCategorizer and README "Long messages".
    window: int = 20
    window_kinds: tuple[str, ...] = ("theme", "signal")
    # > 0: the safeguarding categories and any_risk also take their best window score, times
    # this weight (a window must score 1/weight times what a whole message needs). Off: see
    # README "Long messages" for what it gains on long messages and costs in false alarms.
    window_risk_weight: float = 0.0
    # Keep each window's scores on a long doc for the safeguarding decision (Thresholds
    # .risk_window says how much a window counts; 0 leaves the decision as without them).
    window_rows: bool = True
    # Long messages joined from the training messages (themes/joined.py) added to the
    # classifier's training data, so it learns weights that hold up in long, rambling bags.
    long_examples: int = 0
    thresholds: Thresholds = field(default_factory=Thresholds)

    def with_thresholds(self, **changes: float) -> BuildSettings:
        """A copy with some thresholds changed."""
        return replace(self, thresholds=replace(self.thresholds, **changes))


def blank_pipeline(codebook: Codebook) -> Language:
    """The rule part of the pipeline (no classifier yet), compiled from the codebook."""
    nlp = spacy.blank("en")
    nlp.add_pipe("lp_lemmatizer")
    lemmatizer = pipe_of(nlp, "lp_lemmatizer", LemmaNormaliser)
    lemmatizer.set_table(merge_spellings(english_lemma_table(), codebook.spellings))

    def analyse(text: str) -> list[str]:
        return [token.lemma_ for token in lemmatizer(nlp.make_doc(text))]

    nlp.add_pipe("lp_codebook_rules")
    rules = pipe_of(nlp, "lp_codebook_rules", PhraseComponent)
    labelled = [
        (e.id, p) for kind in ("theme", "signal") for e in codebook.of_kind(kind) for p in e.phrases
    ]
    rules.set_phrases(compile_phrases(labelled, analyse))
    nlp.add_pipe("lp_safeguarding")
    safeguarding = pipe_of(nlp, "lp_safeguarding", SafeguardingComponent)
    risky = [(e.id, p) for e in codebook.of_kind("safeguarding") for p in e.phrases]
    risky += [_exception(phrase) for phrase in codebook.exceptions]
    safeguarding.set_phrases(compile_phrases(risky, analyse))
    return nlp


def _exception(phrase: str) -> tuple[str, str]:
    """A leading `^` marks a context exception, which vetoes risk in its whole sentence."""
    if phrase.startswith("^"):
        return components.CONTEXT_LABEL, phrase[1:].strip()
    return components.EXCEPTION_LABEL, phrase


def add_classifier(
    nlp: Language,
    labels: Sequence[str],
    settings: BuildSettings,
    window_labels: Sequence[str] = (),
    window_weights: Sequence[float] = (),
) -> None:
    """Add the lemma bag-of-words multi-label classifier (window labels and their weights:
    see `window_labels` and `window_weights`)."""
    if settings.window and settings.ngram_size != 1:
        raise ValueError("window scoring needs the unigram classifier (ngram_size=1)")
    model = {
        **BOW_MODEL,
        "ngram_size": settings.ngram_size,
        "length": settings.hash_length,
        "rule_features": settings.rule_features,
    }
    config: dict[str, Any] = {"model": model, "threshold": 0.5}
    if settings.window:
        config |= {"window": settings.window, "window_labels": list(window_labels)}
        config["window_rows"] = settings.window_rows
        if any(weight != 1.0 for weight in window_weights):
            config["window_weights"] = list(window_weights)
    nlp.add_pipe(TEXTCAT, config=config)
    textcat = pipe_of(nlp, TEXTCAT, ScoreRowTextCategorizer)
    for label in labels:
        textcat.add_label(label)


def training_examples(
    nlp: Language, messages: Sequence[LabelledMessage], codebook: Codebook, settings: BuildSettings
) -> list[Example]:
    """Examples for the classifier: labelled messages fully, codebook examples partly."""
    labels = classifier_labels(codebook)
    items: list[tuple[str, dict[str, float]]] = [
        (m.text, _cats(m, labels))
        for m in messages
        for _ in range(settings.risk_copies if m.safeguarding else 1)
    ]
    if settings.long_examples:
        joined = joined_messages(messages, settings.long_examples, settings.seed + 1)
        items.extend((m.text, _cats(m, labels)) for m in joined)
    if settings.use_examples:
        for entry in codebook.entries:
            cats = {entry.id: 1.0}
            if entry.kind == "safeguarding":
                cats[RISK_LABEL] = 1.0
            items.extend((text, dict(cats)) for text in entry.examples)
        calm = {e.id: 0.0 for e in codebook.of_kind("safeguarding")} | {RISK_LABEL: 0.0}
        items.extend((text, dict(calm)) for text in codebook.safe_examples)
    with nlp.select_pipes(disable=[TEXTCAT]):
        docs = list(nlp.pipe(text for text, _ in items))
    return [
        Example.from_dict(doc, {"cats": cats}) for doc, (_, cats) in zip(docs, items, strict=True)
    ]


def classifier_labels(codebook: Codebook) -> list[str]:
    """Every codebook id plus the any-risk label."""
    return [e.id for e in codebook.entries] + [RISK_LABEL]


def window_labels(codebook: Codebook, settings: BuildSettings) -> list[str]:
    """The classifier labels that take their best window score: the codebook entries of
    `settings.window_kinds`, and any_risk when it lists "risk"; with window_risk_weight, also
    the safeguarding categories and any_risk."""
    kinds = set(settings.window_kinds)
    if settings.window_risk_weight > 0:
        kinds |= {"safeguarding", "risk"}
    labels = [e.id for e in codebook.entries if e.kind in kinds]
    return labels + ([RISK_LABEL] if "risk" in kinds else [])


def window_weights(codebook: Codebook, settings: BuildSettings) -> list[float]:
    """The weight of each of `window_labels`' window scores (window_risk_weight for risk)."""
    risky = {*codebook.ids("safeguarding"), RISK_LABEL}
    weight = settings.window_risk_weight
    return [
        weight if weight > 0 and label in risky else 1.0
        for label in window_labels(codebook, settings)
    ]


def _cats(message: LabelledMessage, labels: Sequence[str]) -> dict[str, float]:
    gold = {*message.themes, *message.signals}
    if message.safeguarding:
        gold.update((message.safeguarding, RISK_LABEL))
    return {label: float(label in gold) for label in labels}


def train_classifier(nlp: Language, examples: list[Example], settings: BuildSettings) -> None:
    """Seeded training of the classifier on prepared examples."""
    fix_random_seed(settings.seed)
    shuffler = random.Random(settings.seed)
    optimizer = nlp.initialize(lambda: examples)
    order = list(examples)
    with nlp.select_pipes(enable=[TEXTCAT]):
        for _ in range(settings.epochs):
            shuffler.shuffle(order)
            for start in range(0, len(order), settings.batch_size):
                batch = order[start : start + settings.batch_size]
                nlp.update(batch, drop=settings.dropout, sgd=optimizer)


def build_pipeline(
    codebook: Codebook,
    messages: Sequence[LabelledMessage],
    settings: BuildSettings | None = None,
    today: date | None = None,
    encoder: Path | None = None,
) -> Language:
    """A complete, trained pipeline with its version and settings in nlp.meta; with
    `encoder` (an exported risk encoder), that too, its files part of the version."""
    settings = settings or BuildSettings()
    nlp = blank_pipeline(codebook)
    add_classifier(
        nlp,
        classifier_labels(codebook),
        settings,
        window_labels(codebook, settings),
        window_weights(codebook, settings),
    )
    train_classifier(nlp, training_examples(nlp, messages, codebook, settings), settings)
    if encoder is not None:
        add_encoder(nlp, encoder)
    stamp(nlp, codebook, messages, settings, today or date.today())
    return nlp


def stamp(
    nlp: Language,
    codebook: Codebook,
    messages: Sequence[LabelledMessage],
    settings: BuildSettings,
    today: date,
    calibration: Sequence[LabelledMessage] = (),
) -> None:
    """Record the version, settings and labels in nlp.meta (again after a calibration changed
    the thresholds: the version then also hashes the calibration messages)."""
    version = pipeline_version(
        codebook, messages, settings, today, calibration, encoder_digest(nlp)
    )
    nlp.meta["name"] = "listening_post_themes"
    nlp.meta["version"] = "0.0.0"
    nlp.meta[META_KEY] = {
        "version": version,
        "settings": asdict(settings),
        "kinds": {kind: list(codebook.ids(kind)) for kind in ("theme", "signal", "safeguarding")},
        "implies": {e.id: list(e.implies) for e in codebook.entries if e.implies},
        "training_messages": len(messages),
    }
    if calibration:
        nlp.meta[META_KEY]["calibration_messages"] = len(calibration)
    if ENCODER in nlp.pipe_names:
        component = pipe_of(nlp, ENCODER, RiskEncoderComponent)
        if component.encoder is not None:
            nlp.meta[META_KEY]["encoder"] = describe(component.encoder)


def pipeline_version(
    codebook: Codebook,
    messages: Sequence[LabelledMessage],
    settings: BuildSettings,
    today: date,
    calibration: Sequence[LabelledMessage] = (),
    encoder: str = "",
) -> str:
    """ "YYYY.MM.DD-<hash of codebook, training data, settings, calibration messages and the
    risk encoder's files>"."""
    digest = hashlib.sha256(codebook.digest().encode())
    for message in messages:
        digest.update(json.dumps(message.to_json(), sort_keys=True).encode("utf8"))
    hashed = asdict(settings)
    if not settings.thresholds.encoder_weight:  # unused: the same hash as before it existed
        del hashed["thresholds"]["encoder_weight"]
    digest.update(json.dumps(hashed, sort_keys=True).encode())
    for message in calibration:  # none: the same hash as before calibration existed
        digest.update(json.dumps(message.to_json(), sort_keys=True).encode("utf8"))
    digest.update(encoder.encode())  # none: the same hash as before the encoder existed
    return f"{today:%Y.%m.%d}-{digest.hexdigest()[:8]}"


def add_encoder(nlp: Language, directory: Path) -> None:
    """Add the risk encoder exported to `directory` (themes/encoder.py) as the last component;
    it is saved with the pipeline. Its threshold is chosen by the calibration (0 without)."""
    if not has_encoder(directory):
        raise FileNotFoundError(
            f"no exported risk encoder (model.onnx, tokenizer.json) in {directory}"
        )
    cast(RiskEncoderComponent, nlp.add_pipe(ENCODER)).load(directory)


def encoder_digest(nlp: Language) -> str:
    """The hash of the pipeline's risk encoder files ("" without one)."""
    if ENCODER not in nlp.pipe_names:
        return ""
    component = pipe_of(nlp, ENCODER, RiskEncoderComponent)
    return component.encoder.digest if component.encoder else ""


def save_pipeline(nlp: Language, path: Path) -> None:
    """Write the pipeline to a directory loadable by themes.load_tagger."""
    nlp.to_disk(path)


def meta_of(nlp: Language) -> dict[str, Any]:
    """The Listening Post part of a pipeline's meta."""
    meta: dict[str, Any] = nlp.meta.get(META_KEY, {})
    return meta
