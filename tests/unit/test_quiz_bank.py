"""Question banks: every repo bank is valid; broken banks fail with messages naming file and field."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import jsonschema
import pytest
import yaml

from labsetup.errors import InputError
from labsetup.paths import REPO_ROOT
from labsetup.quiz.bank import (
    NOTEBOOK_STEMS,
    SCHEMA_PATH,
    bank_dir,
    bank_path,
    load_bank,
    load_schema,
    parse_bank,
)

BANK_FILES = sorted(bank_dir().glob("*.yaml"))

VALID = textwrap.dedent(
    """\
    notebook: 03-projected-tokens
    title: A tiny bank
    questions:
      - id: pick-one
        type: single
        prompt: Which one?
        options:
          - {id: a, text: Alpha}
          - {id: b, text: Beta, feedback: Not this one.}
        answer: a
        explain: Alpha is right.
      - id: pick-many
        type: multiple
        prompt: Which ones?
        options:
          - {id: a, text: Alpha}
          - {id: b, text: Beta}
          - {id: c, text: Gamma}
        answer: [a, c]
        explain: Alpha and Gamma.
    """
)


def _broken(old: str, new: str) -> str:
    assert old in VALID, f"test setup: {old!r} not in the valid bank"
    return VALID.replace(old, new, 1)


# ---- the banks in the repository -------------------------------------------------------------------------


def test_schema_is_a_valid_draft_2020_12_schema() -> None:
    schema = json.loads(SCHEMA_PATH.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    assert load_schema()["$schema"].endswith("2020-12/schema")


def test_every_notebook_has_exactly_one_bank() -> None:
    files = [p for p in bank_dir().iterdir() if p.suffix in {".yaml", ".yml", ".json"}]
    stems = sorted(p.stem for p in files)
    assert stems == sorted(NOTEBOOK_STEMS), f"banks in {bank_dir()}: {stems}"


@pytest.mark.parametrize("path", BANK_FILES, ids=[p.stem for p in BANK_FILES])
def test_repo_bank_matches_the_schema(path: Path) -> None:
    data = yaml.safe_load(path.read_text())
    jsonschema.validate(data, load_schema(), cls=jsonschema.Draft202012Validator)
    bank = load_bank(path)  # schema plus cross-field rules
    assert bank.notebook == path.stem
    assert 3 <= len(bank.questions) <= 6, "3-5 own questions per bank, plus at most one seed question"
    assert bank.title


@pytest.mark.parametrize("path", BANK_FILES, ids=[p.stem for p in BANK_FILES])
def test_repo_bank_every_wrong_option_explains_itself(path: Path) -> None:
    bank = load_bank(path)
    for q in bank.questions:
        silent = [o.id for o in q.options if o.id not in q.answer and not o.feedback]
        assert not silent, f"{path.name}: question {q.id!r}: wrong options without feedback: {silent}"


def test_repo_has_no_bank_for_a_missing_notebook() -> None:
    notebooks = sorted((REPO_ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb"))
    if not notebooks:
        pytest.skip("no lesson notebooks in the checkout yet")
    assert sorted(p.stem for p in notebooks) == sorted(NOTEBOOK_STEMS)


def test_seed_question_1_default_serviceaccount() -> None:
    q = load_bank("01-default-serviceaccount").question("pod-without-serviceaccount")
    assert q.prompt == "What happens if you create a pod without specifying a service account?"
    assert q.type == "single"
    (right,) = q.correct_options
    for must in (
        "`default` ServiceAccount",
        "kube-api-access-",
        "/var/run/secrets/kubernetes.io/serviceaccount",
    ):
        assert must in right.text
    assert "automount" in right.text


def test_seed_question_2_projected_token_advantages() -> None:
    q = load_bank("03-projected-tokens").question("projected-advantages")
    assert q.prompt == (
        "What are the three advantages of projected service account tokens over legacy secret-based tokens?"
    )
    assert q.type == "multiple"
    assert {o.phrase.lower() for o in q.correct_options} == {
        "time-limited",
        "audience-bound",
        "bound to the pod",
    }
    capped = q.option("capped-48h")
    assert capped.id not in q.answer, "there is no 48 h cap by default"
    assert "--service-account-max-token-expiration" in capped.feedback


def test_seed_question_3_where_to_disable_automount() -> None:
    q = load_bank("02-disabling-automount").question("protect-namespace")
    assert (
        q.prompt == "Where should you disable `automountServiceAccountToken` to protect an entire namespace?"
    )
    (right,) = q.correct_options
    assert "`default` ServiceAccount" in right.text
    assert "dedicated" in right.text


def test_pod_setting_wins_over_serviceaccount_setting() -> None:
    q = load_bank("02-disabling-automount").question("pod-wins")
    (right,) = q.correct_options
    assert right.text.startswith("Yes")


# ---- loading and bad input -------------------------------------------------------------------------------


def test_valid_bank_parses_into_objects() -> None:
    bank = parse_bank(VALID, source="tiny.yaml")
    assert [q.id for q in bank.questions] == ["pick-one", "pick-many"]
    assert bank.question("pick-many").answer == frozenset({"a", "c"})
    assert bank.question("pick-one").option("b").feedback == "Not this one."
    assert not bank.question("pick-one").shuffle


@pytest.mark.parametrize(
    ("old", "new", "field", "words"),
    [
        (
            "    explain: Alpha is right.\n",
            "",
            "questions[0] (id 'pick-one')",
            "'explain' is a required property",
        ),
        (
            "answer: a\n",
            "answer: z\n",
            "questions[0] (id 'pick-one').answer",
            "'z' is not one of the option ids",
        ),
        ("answer: [a, c]", "answer: a", "questions[1] (id 'pick-many').answer", "not of type 'array'"),
        ("answer: a\n", "answer: [a]\n", "questions[0] (id 'pick-one').answer", "not of type 'string'"),
        ("type: single", "type: essay", "questions[0] (id 'pick-one').type", "'essay' is not one of"),
        ("- id: pick-many", "- id: pick-one", "questions[1] (id 'pick-one').id", "duplicate question id"),
        (
            "{id: c, text: Gamma}",
            "{id: a, text: Gamma}",
            "questions[1] (id 'pick-many').options",
            "duplicate option",
        ),
        (
            "{id: a, text: Alpha}",
            "{id: a, txt: Alpha}",
            "questions[0] (id 'pick-one').options[0] (id 'a')",
            "'txt' was",
        ),
        ("prompt: Which one?", "prompt: ''", "questions[0] (id 'pick-one').prompt", "should be non-empty"),
        ("notebook: 03-projected-tokens", "notebook: 07-nope", "notebook", "file is named after"),
    ],
    ids=[
        "missing-explain",
        "answer-not-an-option",
        "multiple-needs-list",
        "single-needs-string",
        "unknown-type",
        "duplicate-question",
        "duplicate-option",
        "misspelt-field",
        "empty-prompt",
        "wrong-notebook",
    ],
)
def test_bad_bank_names_file_and_field(old: str, new: str, field: str, words: str) -> None:
    with pytest.raises(InputError) as info:
        parse_bank(
            _broken(old, new),
            source="quizzes/03-projected-tokens.yaml",
            expected_notebook="03-projected-tokens",
        )
    message = str(info.value)
    assert "quizzes/03-projected-tokens.yaml" in message
    assert f"{field}:" in message, message
    assert words in message, message


def test_bad_yaml_names_file_and_line() -> None:
    with pytest.raises(InputError, match=r"bad\.yaml: not valid YAML at line 3, column 3"):
        parse_bank("notebook: 00-setup\nquestions: [\n  - oops: : :\n", source="bad.yaml")


def test_duplicate_yaml_key_is_an_error_not_silently_dropped() -> None:
    text = _broken("answer: a\n", "answer: a\n    answer: b\n")
    with pytest.raises(InputError, match="duplicate key 'answer'"):
        parse_bank(text, source="dup.yaml")


def test_empty_file_is_reported() -> None:
    with pytest.raises(InputError, match="empty.yaml: a question bank must be a mapping"):
        parse_bank("", source="empty.yaml")


def test_missing_bank_file_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"04-one-sa-per-workload\.yaml: question bank not found"):
        load_bank("04-one-sa-per-workload", directory=tmp_path)


def test_unknown_notebook_lists_the_known_ones() -> None:
    with pytest.raises(InputError, match="unknown notebook '06-extra'.*00-setup"):
        bank_path("06-extra")


def test_unknown_question_id_names_bank_and_known_ids() -> None:
    bank = load_bank("00-setup")
    with pytest.raises(
        InputError, match=r"00-setup\.yaml: no question with id 'nope'; known ids: lab-processes"
    ):
        bank.question("nope")


def test_load_bank_from_a_path(tmp_path: Path) -> None:
    path = tmp_path / "03-projected-tokens.yaml"
    path.write_text(VALID)
    assert load_bank(path).source == str(path)
    path.write_text(_broken("answer: a\n", "answer: q\n"))
    with pytest.raises(InputError, match=rf"{path}: questions\[0\] \(id 'pick-one'\)\.answer"):
        load_bank(path)
