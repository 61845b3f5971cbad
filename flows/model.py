"""A flow definition as the engine uses it: a named list of steps, loaded from a data file."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from flows.types import Choice

END = "end"  # reserved `next` target: the flow ends after this step
SKIP = "skip"  # the value of the Skip choice every skippable step offers

DEFAULT_AFTER = "Thanks — I've passed that on. Send /start to go through the questions again."
DEFAULT_SKIP_ACKNOWLEDGEMENT = "No problem, let's move on."
DEFAULT_SKIP_LABEL = "Skip"


class FlowError(ValueError):
    """A flow definition is invalid; the message names the file and the step."""

    def __init__(self, file: str, problem: str, step: str | None = None) -> None:
        self.file = file
        self.step = step
        self.problem = problem
        where = f"{file}, step {step!r}" if step else file
        super().__init__(f"{where}: {problem}")


@dataclass(frozen=True)
class Option:
    """One choice of a step: a stable `value`, the `label` shown, extra typed `synonyms`."""

    value: str
    label: str
    synonyms: tuple[str, ...] = ()
    acknowledgement: str | None = None  # replaces the flow's acknowledgement for this choice

    def as_choice(self) -> Choice:
        """The option as the runtime shows it."""
        return Choice(self.value, self.label)


@dataclass(frozen=True)
class Consent:
    """A step whose yes/no answer grants or refuses consent for `purpose`."""

    purpose: str
    wording_version: str


@dataclass(frozen=True)
class Step:
    """One question. `next` is a step id, END, or None for "the following step"."""

    id: str
    prompt: str
    choices: tuple[Option, ...] = ()
    free_text: bool = True
    skippable: bool = True
    next: str | None = None
    branch: Mapping[str, str] = field(default_factory=dict, hash=False)
    consent: Consent | None = None
    kind: str = "question"  # "question" or "area"


@dataclass(frozen=True)
class Flow:
    """A conversation: intro, steps in order, outro, and how long an idle one stays open."""

    name: str
    intro: str
    outro: str
    steps: tuple[Step, ...]
    expires_after_hours: float = 72.0
    acknowledgements: tuple[str, ...] = ("Thank you for telling me.",)
    skip_acknowledgement: str = DEFAULT_SKIP_ACKNOWLEDGEMENT
    skip_label: str = DEFAULT_SKIP_LABEL
    after: str = DEFAULT_AFTER

    def step(self, step_id: str | None) -> Step | None:
        """The step called `step_id`, or None."""
        return next((s for s in self.steps if s.id == step_id), None)

    def next_step_id(self, step: Step, value: str | None = None) -> str | None:
        """Where to go after `step` answered with choice `value`; None when the flow ends."""
        target = step.branch.get(value, step.next) if value is not None else step.next
        if target == END:
            return None
        if target is not None:
            return target
        index = self.steps.index(step)
        return self.steps[index + 1].id if index + 1 < len(self.steps) else None

    def acknowledgement(self, step: Step) -> str:
        """A brief thanks for answering `step`, chosen by the step's position."""
        if not self.acknowledgements:  # only a hand-built Flow; the loader requires some
            return "Thank you."
        return self.acknowledgements[self.steps.index(step) % len(self.acknowledgements)]

    def offered(self, step: Step) -> tuple[Choice, ...]:
        """The choices shown with `step`, Skip last when it is skippable."""
        shown = tuple(o.as_choice() for o in step.choices)
        return (*shown, Choice(SKIP, self.skip_label)) if step.skippable else shown
