"""Learner progress: saved, reloaded, surviving damaged and missing files; reports and the CLI."""

from __future__ import annotations

import argparse
import json
import logging
import os
from pathlib import Path

import pytest

from labsetup.errors import InputError
from labsetup.quiz.progress import (
    add_progress_arguments,
    cmd_progress,
    collect_progress,
    format_rows,
    learner_rows,
    learner_summary,
)
from labsetup.quiz.store import AnswerRecord, NotebookProgress, Progress, ProgressStore

SOLVED = AnswerRecord(
    attempts=1, solved=True, first_try=True, answer=("a",), updated="2026-11-28T10:00:00+00:00"
)
WRONG = AnswerRecord(attempts=2, wrong=2, answer=("b",), updated="2026-11-28T10:01:00+00:00")


@pytest.fixture
def store(tmp_path: Path) -> ProgressStore:
    return ProgressStore(tmp_path / "progress" / "alice.json", "alice")


def _fill(store: ProgressStore) -> None:
    store.record("00-setup", "q1", SOLVED, total=4)
    store.record("00-setup", "q2", WRONG, total=4)
    store.record("01-default-serviceaccount", "q1", SOLVED, total=4)
    store.record("03-projected-tokens", "q9", SOLVED, total=5)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lab-dir", type=Path, default=None)  # the lead's CLI adds it to every subcommand
    add_progress_arguments(parser)
    return parser


# ---- the store --------------------------------------------------------------------------------------------


def test_default_path_is_lab_dir_progress_learner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SA_LAB_DIR", str(tmp_path))
    monkeypatch.setenv("SA_LAB_LEARNER", "bob smith")
    store = ProgressStore()
    assert store.path == tmp_path.resolve() / "progress" / "bob_smith.json"
    assert store.learner == "bob_smith"
    assert ProgressStore(learner="../eve x").path == tmp_path.resolve() / "progress" / ".._eve_x.json"


def test_record_then_reload(store: ProgressStore) -> None:
    _fill(store)
    progress = ProgressStore(store.path).load()
    assert progress.learner == "alice"
    assert sorted(progress.notebooks) == ["00-setup", "01-default-serviceaccount", "03-projected-tokens"]
    setup = progress.notebooks["00-setup"]
    assert setup.questions["q1"] == SOLVED and setup.questions["q2"] == WRONG
    assert (setup.score, setup.answered, setup.total) == (1, 2, 4)
    assert oct(store.path.stat().st_mode & 0o777) == "0o600"
    assert store.backup_path.read_text() == store.path.read_text()


def test_file_is_json_with_one_notebook_per_line(store: ProgressStore) -> None:
    _fill(store)
    lines = store.path.read_text().splitlines()
    assert json.loads(store.path.read_text())["format"] == 1
    assert [ln.split(":")[0] for ln in lines[1:-1]] == [
        '"00-setup"',
        '"01-default-serviceaccount"',
        '"03-projected-tokens"',
    ]


def test_truncated_file_keeps_every_other_answer(
    store: ProgressStore, caplog: pytest.LogCaptureFixture
) -> None:
    _fill(store)
    store.record("05-auditing-rbac", "q1", SOLVED, total=4)  # newer than the backup below
    text = store.path.read_text()
    store.backup_path.unlink()  # worst case: no backup either
    store.path.write_text(text[: text.index('"05-auditing-rbac"') + 40])  # cut in the middle of the last line

    with caplog.at_level(logging.WARNING):
        progress = store.load()
    assert sorted(progress.notebooks) == ["00-setup", "01-default-serviceaccount", "03-projected-tokens"]
    assert progress.notebooks["00-setup"].questions["q2"] == WRONG
    warning = caplog.text
    assert str(store.path) in warning and "damaged" in warning and "moved to" in warning
    aside = list(store.path.parent.glob("alice.json.corrupt-*"))
    assert len(aside) == 1 and aside[0].read_text().endswith(
        text[: text.index('"05-auditing-rbac"') + 40][-20:]
    )
    assert json.loads(store.path.read_text())["notebooks"].keys() == progress.notebooks.keys(), (
        "repaired on disk"
    )


def test_damaged_file_is_completed_from_the_backup(store: ProgressStore) -> None:
    _fill(store)
    store.path.write_text(
        '{"format": 1, "learner": "alice", "notebooks": {\n"00-se'
    )  # nothing left to salvage
    progress = store.load()
    assert sorted(progress.notebooks) == ["00-setup", "01-default-serviceaccount", "03-projected-tokens"]


def test_salvaged_lines_win_over_the_older_backup(store: ProgressStore) -> None:
    _fill(store)
    good = store.path.read_text()
    newer = AnswerRecord(attempts=3, wrong=1, solved=True, answer=("c",))
    store.record("00-setup", "q2", newer, total=4)
    store.backup_path.write_text(good)  # backup one save behind
    store.path.write_text(store.path.read_text()[:-4])  # lose the closing braces only
    assert store.load().notebooks["00-setup"].questions["q2"] == newer


def test_missing_file_is_restored_from_the_backup(
    store: ProgressStore, caplog: pytest.LogCaptureFixture
) -> None:
    _fill(store)
    store.path.unlink()
    with caplog.at_level(logging.WARNING):
        progress = store.load()
    assert len(progress.notebooks) == 3
    assert "missing" in caplog.text
    assert store.path.exists()


def test_missing_file_without_backup_is_an_empty_start(
    store: ProgressStore, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        progress = store.load()
    assert progress == Progress(learner="alice")
    assert caplog.text == ""
    store.record("02-disabling-automount", "q", SOLVED, total=4)
    assert store.load().notebooks["02-disabling-automount"].score == 1


@pytest.mark.parametrize(
    "content",
    [
        b"\xff\xfe\x00garbage",
        b"[]",
        b'{"format": 1, "notebooks": {"00-setup": {"questions": {"q": {"attempts": -1}}}}}',
        b'{"format": 99, "notebooks": {}}',
        b"",
    ],
    ids=["binary", "wrong-shape", "bad-record", "future-format", "empty"],
)
def test_any_damaged_content_never_raises(store: ProgressStore, content: bytes) -> None:
    _fill(store)
    store.path.write_bytes(content)
    progress = store.load()
    assert "01-default-serviceaccount" in progress.notebooks, "recovered from the backup"
    store.record("04-one-sa-per-workload", "q", SOLVED, total=5)
    assert "04-one-sa-per-workload" in store.load().notebooks


def test_unwritable_directory_logs_and_keeps_going(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    store = ProgressStore(blocker / "progress" / "alice.json", "alice")
    with caplog.at_level(logging.WARNING):
        assert store.record("00-setup", "q1", SOLVED, total=4) is False
    assert "could not save quiz progress" in caplog.text


def test_collect_reads_without_touching_damaged_files(tmp_path: Path) -> None:
    store = ProgressStore(tmp_path / "alice.json", "alice")
    _fill(store)
    store.path.write_text("{broken")
    rows = collect_progress([tmp_path], totals={"00-setup": 4})
    assert store.path.read_text() == "{broken", "an instructor's collection never rewrites learner files"
    assert not list(tmp_path.glob("*.corrupt-*"))
    assert any(r.notebook == "00-setup" and r.correct == 1 for r in rows), (
        "recovered from the backup, read-only"
    )


# ---- reports and CLI --------------------------------------------------------------------------------------


def test_learner_rows_cover_every_notebook_with_totals(store: ProgressStore) -> None:
    _fill(store)
    rows = learner_rows(store.load(), totals={"00-setup": 4, "02-disabling-automount": 4})
    by_nb = {r.notebook: r for r in rows}
    assert sorted(by_nb) == [
        "00-setup",
        "01-default-serviceaccount",
        "02-disabling-automount",
        "03-projected-tokens",
    ]
    assert (by_nb["00-setup"].correct, by_nb["00-setup"].total, by_nb["00-setup"].percent) == (1, 4, 25)
    assert (by_nb["00-setup"].answered, by_nb["00-setup"].attempts) == (2, 3)
    assert (by_nb["02-disabling-automount"].answered, by_nb["02-disabling-automount"].percent) == (0, 0)
    assert by_nb["03-projected-tokens"].total == 5, "stored total when the bank is unknown"


def test_learner_summary_uses_the_lab_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SA_LAB_DIR", str(tmp_path))
    monkeypatch.setenv("SA_LAB_LEARNER", "alice")
    _fill(ProgressStore())
    rows = learner_summary()
    assert {r.learner for r in rows} == {"alice"}
    assert len(rows) == 6, "one row per lesson notebook"
    assert next(r for r in rows if r.notebook == "00-setup").correct == 1


def test_collect_several_learners_from_files_and_directories(tmp_path: Path) -> None:
    for name in ("alice", "bob"):
        s = ProgressStore(tmp_path / "class" / f"{name}.json", name)
        s.record("00-setup", "q1", SOLVED if name == "alice" else WRONG, total=4)
    extra = ProgressStore(tmp_path / "carol.json", "carol")
    extra.record("01-default-serviceaccount", "q1", SOLVED, total=4)
    rows = collect_progress([tmp_path / "class", tmp_path / "carol.json"], totals={"00-setup": 4})
    table = {(r.learner, r.notebook): r.correct for r in rows}
    assert table[("alice", "00-setup")] == 1
    assert table[("bob", "00-setup")] == 0
    assert table[("carol", "01-default-serviceaccount")] == 1
    assert table[("carol", "00-setup")] == 0, "a notebook not started still gets a row"
    assert [r.learner for r in rows] == sorted(r.learner for r in rows)


def test_collect_missing_path_and_empty_directory(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"nowhere: no such file or directory"):
        collect_progress([tmp_path / "nowhere"])
    with pytest.raises(InputError, match="no progress .json files found"):
        collect_progress([tmp_path])


def test_format_table_and_json(store: ProgressStore) -> None:
    _fill(store)
    rows = learner_rows(store.load(), totals={"00-setup": 4})
    table = format_rows(rows, "table").splitlines()
    assert table[0].split() == [
        "learner",
        "notebook",
        "score",
        "correct",
        "total",
        "answered",
        "attempts",
        "revealed",
    ]
    assert table[1].split() == ["alice", "00-setup", "25%", "1", "4", "2", "3", "0"]
    data = json.loads(format_rows(rows, "json"))
    assert data[0] == {
        "learner": "alice",
        "notebook": "00-setup",
        "correct": 1,
        "total": 4,
        "answered": 2,
        "attempts": 3,
        "revealed": 0,
        "percent": 25,
    }
    with pytest.raises(InputError, match="unknown format 'xml'"):
        format_rows(rows, "xml")


def test_cli_learner_summary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SA_LAB_LEARNER", "nobody")
    _fill(ProgressStore(tmp_path / "progress" / "alice.json", "alice"))
    args = _parser().parse_args(["--lab-dir", str(tmp_path), "--learner", "alice", "--format", "json"])
    assert cmd_progress(args) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {r["learner"] for r in rows} == {"alice"}
    assert next(r for r in rows if r["notebook"] == "00-setup")["correct"] == 1


def test_cli_collect_table_filtered_by_learner(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("alice", "bob"):
        ProgressStore(tmp_path / f"{name}.json", name).record("00-setup", "q1", SOLVED, total=4)
    assert cmd_progress(_parser().parse_args(["--collect", str(tmp_path)])) == 0
    out = capsys.readouterr().out
    assert "alice" in out and "bob" in out
    assert cmd_progress(_parser().parse_args(["--collect", str(tmp_path), "--learner", "bob"])) == 0
    out = capsys.readouterr().out
    assert "bob" in out and "alice" not in out
    with pytest.raises(InputError, match="no progress for learner 'zed'"):
        cmd_progress(_parser().parse_args(["--collect", str(tmp_path), "--learner", "zed"]))


def test_cli_rejects_unknown_format() -> None:
    with pytest.raises(SystemExit):
        _parser().parse_args(["--format", "xml"])


def test_notebook_progress_from_json_rejects_bad_shapes() -> None:
    assert NotebookProgress.from_json({"total": 2, "questions": {}}).total == 2
    for bad in (
        [],
        {"total": -1},
        {"questions": {"q": {"solved": "yes"}}},
        {"questions": {"q": {"answer": "a"}}},
    ):
        with pytest.raises(ValueError):
            NotebookProgress.from_json(bad)


def test_lock_file_is_private(store: ProgressStore) -> None:
    _fill(store)
    lock = store.path.with_name(".alice.json.lock")
    assert lock.exists() and oct(os.stat(lock).st_mode & 0o777) == "0o600"
