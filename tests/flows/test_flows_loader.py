"""Loading flow definitions, and the mistakes the loader catches before residents see them."""

from __future__ import annotations

from pathlib import Path

import pytest

from flows import Flow, FlowError, load_flow, load_flows, loader

GOOD = """
name = "check"
intro = "Hello, a quick check-in."
outro = "Thanks, that's all."

[[steps]]
id = "first"
prompt = "How are you?"
choices = [{ value = "good", label = "Good" }, { value = "bad", label = "Bad" }]
next = "last"

[steps.branch]
bad = "why"

[[steps]]
id = "why"
prompt = "What's wrong?"

[[steps]]
id = "last"
prompt = "Anything else?"
"""


def write(tmp_path: Path, text: str, name: str = "bad.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_the_packaged_flows_load(flows: dict[str, Flow]) -> None:
    assert set(flows) == {"listening", "pulse", "checkback"}
    listening = flows["listening"]
    assert len(listening.steps) == 7
    assert listening.steps[-1].kind == "area"
    consent = listening.step("hear_back")
    assert consent is not None
    assert consent.consent is not None
    assert consent.consent.wording_version == "hear_back-v1"
    assert listening.expires_after_hours == 72


def test_a_good_file_loads_with_defaults(tmp_path: Path) -> None:
    flow = load_flow(write(tmp_path, GOOD, "check.toml"))
    first = flow.steps[0]
    assert first.free_text is False  # a step with choices is choice-only unless it says so
    assert first.skippable is True
    assert flow.next_step_id(first, "bad") == "why"
    assert flow.next_step_id(first, "good") == "last"
    assert flow.next_step_id(first) == "last"
    why = flow.step("why")
    assert why is not None
    assert flow.next_step_id(why) == "last"
    assert flow.expires_after_hours == 72


def test_load_flows_reads_a_directory(tmp_path: Path) -> None:
    write(tmp_path, GOOD, "check.toml")
    write(tmp_path, GOOD.replace('name = "check"', 'name = "other"'), "other.toml")
    assert sorted(load_flows(tmp_path)) == ["check", "other"]


def test_two_files_may_not_share_a_name(tmp_path: Path) -> None:
    write(tmp_path, GOOD, "a.toml")
    write(tmp_path, GOOD, "b.toml")
    with pytest.raises(FlowError, match=r"b\.toml: another file already defines flow 'check'"):
        load_flows(tmp_path)


@pytest.mark.parametrize(
    ("old", "new", "step", "problem"),
    [
        ('next = "last"', 'next = "nowhere"', "first", "unknown step 'nowhere'"),
        ('id = "why"', 'id = "first"', "first", "duplicate step id"),
        ('prompt = "What\'s wrong?"', "", "why", "missing or empty prompt"),
        ('prompt = "What\'s wrong?"', 'prompt = "  "', "why", "missing or empty prompt"),
        ("What's wrong?", "What's wrong? Why?", "why", "at most one '?'"),
        ('{ value = "bad", label = "Bad" }', '{ label = "Bad" }', "first", "needs a value"),
        ('{ value = "bad", label = "Bad" }', '{ value = "bad" }', "first", "empty label"),
        ('bad = "why"', 'bad = "gone"', "first", "unknown step 'gone'"),
        ('bad = "why"', 'ugly = "why"', "first", "not choices: ['ugly']"),
        ('id = "why"', 'id = "why"\nskipable = false', "why", "unknown keys ['skipable']"),
        ('id = "why"', 'id = "why"\nkind = "map"', "why", "kind must be one of"),
        ('id = "why"', 'id = "why"\nfree_text = "yes"', "why", "free_text must be true or"),
        ('id = "last"', 'id = "last"\nnext = "first"', "first", "loop back here"),
        ('id = "why"', 'id = "end"', "end", "'end' is reserved"),
        (
            '{ value = "bad", label = "Bad" }',
            '{ value = "skip", label = "Bad" }',
            "first",
            "'skip' is reserved",
        ),
        ('label = "Bad"', 'label = "Bad?"', "first", "labels may not hold '?'"),
    ],
)
def test_step_mistakes_name_the_file_and_step(
    tmp_path: Path, old: str, new: str, step: str | None, problem: str
) -> None:
    assert old in GOOD
    path = write(tmp_path, GOOD.replace(old, new, 1))
    with pytest.raises(FlowError) as caught:
        load_flow(path)
    assert caught.value.file == "bad.toml"
    assert caught.value.step == step
    assert problem in str(caught.value)
    assert str(caught.value).startswith("bad.toml")


@pytest.mark.parametrize(
    ("extra", "problem"),
    [
        ('consent = { purpose = "hear_back", wording_version = "v1" }', "exactly the choices"),
        ('consent = { purpose = "hear_back" }', "exactly purpose and wording_version"),
    ],
)
def test_consent_mistakes(tmp_path: Path, extra: str, problem: str) -> None:
    text = GOOD.replace('next = "last"', f'next = "last"\n{extra}')
    with pytest.raises(FlowError, match=problem):
        load_flow(write(tmp_path, text))


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        ('intro = "Hello, a quick check-in."', "", "missing or empty intro"),
        ('outro = "Thanks, that\'s all."', 'outro = "Done? Sure?"', "at most one '?'"),
        ('name = "check"', 'name = "check"\nexpires_after_hours = 0', "positive number"),
        ('name = "check"', 'name = "check"\nexpires_after_hours = true', "positive number"),
        ('name = "check"', 'name = "check"\nacknowledgements = []', "non-empty list"),
        ('name = "check"', 'name = "check"\nacknowledgements = [""]', "acknowledgements"),
        ('name = "check"', 'name = "check"\ncolour = "blue"', "unknown keys ['colour']"),
        ('name = "check"', 'name = "check', "not valid TOML"),
    ],
)
def test_flow_mistakes_name_the_file(tmp_path: Path, old: str, new: str, problem: str) -> None:
    with pytest.raises(FlowError, match=r"^bad\.toml: ") as caught:
        load_flow(write(tmp_path, GOOD.replace(old, new, 1)))
    assert problem in str(caught.value)
    assert caught.value.step is None


def test_a_flow_needs_steps(tmp_path: Path) -> None:
    with pytest.raises(FlowError, match="at least one"):
        load_flow(write(tmp_path, 'intro = "Hi."\noutro = "Bye."\n'))


def test_a_consent_step_may_not_take_free_text(tmp_path: Path) -> None:
    text = """
intro = "Hi."
outro = "Bye."
[[steps]]
id = "ok"
prompt = "May we?"
free_text = true
consent = { purpose = "p", wording_version = "p-v1" }
choices = [{ value = "yes", label = "Yes" }, { value = "no", label = "No" }]
"""
    with pytest.raises(FlowError, match="exactly the choices yes and no"):
        load_flow(write(tmp_path, text))


def test_an_area_step_takes_no_choices(tmp_path: Path) -> None:
    text = GOOD.replace('id = "first"', 'id = "first"\nkind = "area"')
    with pytest.raises(FlowError, match="area step takes typed answers"):
        load_flow(write(tmp_path, text))


def test_every_definition_key_is_documented() -> None:
    readme = (Path(loader.__file__).parent / "README.md").read_text(encoding="utf-8")
    keys = loader._FLOW_KEYS | loader._STEP_KEYS | loader._OPTION_KEYS
    assert sorted(key for key in keys if f"`{key}`" not in readme) == []
    for key in loader._FLOW_KEYS | loader._STEP_KEYS:
        assert f"| `{key}` |" in readme, key
