"""Loading flow definitions from TOML files and checking them before any resident sees them."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from flows.model import (
    DEFAULT_AFTER,
    DEFAULT_SKIP_ACKNOWLEDGEMENT,
    DEFAULT_SKIP_LABEL,
    END,
    SKIP,
    Consent,
    Flow,
    FlowError,
    Option,
    Step,
)

DEFINITIONS = Path(__file__).parent / "definitions"

_FLOW_KEYS = {"name", "intro", "outro", "after", "expires_after_hours", "acknowledgements"}
_FLOW_KEYS |= {"skip_acknowledgement", "skip_label", "steps"}
_STEP_KEYS = {"id", "prompt", "choices", "free_text", "skippable", "next", "branch"}
_STEP_KEYS |= {"consent", "kind"}
_OPTION_KEYS = {"value", "label", "synonyms", "acknowledgement"}
_KINDS = {"question", "area"}


def load_flows(directory: Path | None = None) -> dict[str, Flow]:
    """Every `*.toml` flow in `directory` (default: the packaged definitions), by name."""
    flows: dict[str, Flow] = {}
    for path in sorted((directory or DEFINITIONS).glob("*.toml")):
        flow = load_flow(path)
        if flow.name in flows:
            raise FlowError(path.name, f"another file already defines flow {flow.name!r}")
        flows[flow.name] = flow
    return flows


def load_flow(path: Path) -> Flow:
    """One flow from one TOML file; raises FlowError naming the file and step on any problem."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise FlowError(path.name, f"not valid TOML: {error}") from error
    flow = _flow(path.name, path.stem, data)
    _check_targets(path.name, flow)
    return flow


def _flow(file: str, stem: str, data: dict[str, Any]) -> Flow:
    _only(file, None, data, _FLOW_KEYS)
    raw_steps = data.get("steps")
    if not isinstance(raw_steps, list) or not raw_steps:
        raise FlowError(file, "a flow needs at least one [[steps]] table")
    steps = tuple(_step(file, raw) for raw in raw_steps)
    _no_duplicates(file, steps)
    return Flow(
        name=_text(file, None, data, "name") if "name" in data else stem,
        intro=_text(file, None, data, "intro"),
        outro=_text(file, None, data, "outro"),
        steps=steps,
        expires_after_hours=_hours(file, data),
        acknowledgements=_acknowledgements(file, data),
        after=_optional_text(file, data, "after", DEFAULT_AFTER),
        skip_acknowledgement=_optional_text(
            file, data, "skip_acknowledgement", DEFAULT_SKIP_ACKNOWLEDGEMENT
        ),
        skip_label=_optional_text(file, data, "skip_label", DEFAULT_SKIP_LABEL),
    )


def _hours(file: str, data: dict[str, Any]) -> float:
    hours = data.get("expires_after_hours", 72)
    if isinstance(hours, bool) or not isinstance(hours, int | float) or not hours > 0:
        raise FlowError(file, "expires_after_hours must be a positive number")
    return float(hours)


def _acknowledgements(file: str, data: dict[str, Any]) -> tuple[str, ...]:
    acks = data.get("acknowledgements", ["Thank you for telling me."])
    if not isinstance(acks, list) or not acks:
        raise FlowError(file, "acknowledgements must be a non-empty list of texts")
    return tuple(_text(file, None, {"acknowledgements": a}, "acknowledgements") for a in acks)


def _step(file: str, raw: object) -> Step:
    if not isinstance(raw, dict):
        raise FlowError(file, "each [[steps]] entry must be a table")
    step_id = raw.get("id")
    if not isinstance(step_id, str) or not step_id.strip():
        raise FlowError(file, "a step has no id")
    if step_id == END:
        raise FlowError(file, f"{END!r} is reserved for `next`", step_id)
    _only(file, step_id, raw, _STEP_KEYS)
    options = tuple(_option(file, step_id, o) for o in _list(file, step_id, raw, "choices"))
    step = Step(
        id=step_id,
        prompt=_text(file, step_id, raw, "prompt"),
        choices=options,
        free_text=_flag(file, step_id, raw, "free_text", default=not options),
        skippable=_flag(file, step_id, raw, "skippable", default=True),
        next=_text(file, step_id, raw, "next") if "next" in raw else None,
        branch=_branch(file, step_id, raw),
        consent=_consent(file, step_id, raw),
        kind=str(raw.get("kind", "question")),
    )
    _check_step(file, step)
    return step


def _option(file: str, step_id: str, raw: object) -> Option:
    if not isinstance(raw, dict) or not isinstance(raw.get("value"), str) or not raw["value"]:
        raise FlowError(file, "every choice needs a value", step_id)
    _only(file, step_id, raw, _OPTION_KEYS)
    synonyms = _list(file, step_id, raw, "synonyms")
    if not all(isinstance(s, str) and s.strip() for s in synonyms):
        raise FlowError(file, "synonyms must be non-empty texts", step_id)
    ack = raw.get("acknowledgement")
    return Option(
        value=raw["value"],
        label=_text(file, step_id, raw, "label"),
        synonyms=tuple(synonyms),
        acknowledgement=_text(file, step_id, raw, "acknowledgement") if ack is not None else None,
    )


def _consent(file: str, step_id: str, raw: dict[str, Any]) -> Consent | None:
    consent = raw.get("consent")
    if consent is None:
        return None
    if not isinstance(consent, dict) or set(consent) != {"purpose", "wording_version"}:
        raise FlowError(file, "consent needs exactly purpose and wording_version", step_id)
    purpose = _text(file, step_id, consent, "purpose")
    return Consent(purpose, _text(file, step_id, consent, "wording_version"))


def _branch(file: str, step_id: str, raw: dict[str, Any]) -> dict[str, str]:
    branch = raw.get("branch", {})
    if not isinstance(branch, dict) or not all(isinstance(v, str) for v in branch.values()):
        raise FlowError(file, "branch must map choice values to step ids", step_id)
    return dict(branch)


def _check_step(file: str, step: Step) -> None:
    """Rules for one step on its own; targets are checked once all steps are known."""
    if step.kind not in _KINDS:
        raise FlowError(file, f"kind must be one of {sorted(_KINDS)}", step.id)
    values = [o.value for o in step.choices]
    if any("?" in o.label for o in step.choices):
        raise FlowError(file, "choice labels may not hold '?' (the prompt asks)", step.id)
    if len(set(values)) != len(values) or (step.skippable and SKIP in values):
        raise FlowError(file, "choice values must be unique (and 'skip' is reserved)", step.id)
    if step.kind == "area" and step.choices:
        raise FlowError(file, "an area step takes typed answers, not choices", step.id)
    if not step.choices and not step.free_text:
        raise FlowError(file, "a step without choices must allow free_text", step.id)
    if step.consent and (set(values) != {"yes", "no"} or step.free_text):
        raise FlowError(file, "a consent step needs exactly the choices yes and no", step.id)
    if unknown := set(step.branch) - set(values):
        raise FlowError(file, f"branch on values that are not choices: {sorted(unknown)}", step.id)


def _check_targets(file: str, flow: Flow) -> None:
    """Every next/branch target names a step (or END), and every path reaches the end."""
    ids = {s.id for s in flow.steps} | {END}
    for step in flow.steps:
        for target in [step.next, *step.branch.values()]:
            if target is not None and target not in ids:
                raise FlowError(file, f"goes to unknown step {target!r}", step.id)
    for step in flow.steps:
        _check_no_loop(file, flow, step)


def _check_no_loop(file: str, flow: Flow, start: Step) -> None:
    seen: set[str] = set()
    frontier = [start.id]
    while frontier:
        step = flow.step(frontier.pop())
        if step is None or step.id in seen:
            continue
        seen.add(step.id)
        for value in [None, *step.branch]:
            target = flow.next_step_id(step, value)
            if target == start.id:
                raise FlowError(file, "the steps loop back here, so the flow never ends", start.id)
            if target is not None:
                frontier.append(target)


def _no_duplicates(file: str, steps: tuple[Step, ...]) -> None:
    seen: set[str] = set()
    for step in steps:
        if step.id in seen:
            raise FlowError(file, "duplicate step id", step.id)
        seen.add(step.id)


def _only(file: str, step_id: str | None, raw: dict[str, Any], allowed: set[str]) -> None:
    if unknown := set(raw) - allowed:
        raise FlowError(file, f"unknown keys {sorted(unknown)}", step_id)


def _text(file: str, step_id: str | None, raw: dict[str, Any], key: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value.strip():
        raise FlowError(file, f"missing or empty {key}", step_id)
    if value.count("?") > 1:
        raise FlowError(file, f"{key} may hold at most one '?' (one question a message)", step_id)
    return value.strip()


def _optional_text(file: str, data: dict[str, Any], key: str, default: str) -> str:
    return _text(file, None, data, key) if key in data else default


def _flag(file: str, step_id: str, raw: dict[str, Any], key: str, *, default: bool) -> bool:
    value = raw.get(key, default)
    if not isinstance(value, bool):
        raise FlowError(file, f"{key} must be true or false", step_id)
    return value


def _list(file: str, step_id: str, raw: dict[str, Any], key: str) -> list[Any]:
    value = raw.get(key, [])
    if not isinstance(value, list):
        raise FlowError(file, f"{key} must be a list", step_id)
    return value
