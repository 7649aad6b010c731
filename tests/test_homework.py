"""Homework bundles (course_lib.grading.homework): what students receive holds no answers, runs on the
learner's own code, and a homework submission grades as a self-study one does."""
from __future__ import annotations

import copy
import html
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

from course_lib.grading import autograde, course, guide, homework, preprocessors
from course_lib.quiz import Question, Quiz
from lessons import LESSONS, ROOT, per_lesson

# Lessons handed out: a lesson still being written (solutions without a release) joins once it is released.
RELEASED = [lesson for lesson in LESSONS if course.release_path(lesson).exists()]


@pytest.fixture(scope="module")
def bundles(tmp_path_factory):
    cache: dict[str, Path] = {}

    def build(lesson: str) -> Path:
        if lesson not in cache:
            cache[lesson] = homework.build(lesson, tmp_path_factory.mktemp("homework") / lesson)[0]
        return cache[lesson]

    return build


def unpacked(bundle: Path, into: Path) -> Path:
    """The bundle's wheel unpacked, as pip would install it (a directory for PYTHONPATH)."""
    with zipfile.ZipFile(next(bundle.glob("*.whl"))) as wheel:
        wheel.extractall(into)
    return into


@pytest.mark.parametrize("lesson", per_lesson(RELEASED))
def test_bundle_holds_no_answers(lesson, bundles):
    bundle = bundles(lesson)
    wanted = homework.needles(lesson)
    kinds = {what.split(" ")[0] for what in wanted}
    assert {"solution", "reference", "quiz"} <= kinds, f"{lesson}: nothing to look for ({sorted(wanted)})"
    # the scan finds each needle where it really is: the solutions, the full course_lib, the self-study release
    bodies = {w: v for w, v in wanted.items() if w.startswith("solution")}
    assert set(w.split(" in ")[0] for w in homework.scan(ROOT / "solutions", bodies)) == set(bodies)
    refs = {w: v for w, v in wanted.items() if w.startswith("reference")}
    assert set(w.split(" in ")[0] for w in homework.scan(ROOT / "course_lib", refs)) == set(refs)
    quiz = {w: v for w, v in wanted.items() if w.startswith("quiz")}
    assert set(w.split(" in ")[0] for w in homework.scan(ROOT / "notebooks" / lesson, quiz)) == set(quiz)
    # and none of it is anywhere in the bundle, the wheel's members included
    assert homework.scan(bundle, wanted) == []
    with zipfile.ZipFile(next(bundle.glob("*.whl"))) as wheel:
        names = wheel.namelist()
    assert "course_lib/_homework.py" in names and not [n for n in names if n.startswith("course_lib/grading")]
    nb = nbformat.read(bundle / lesson / f"{lesson}.ipynb", as_version=4)
    quiz_cells = [c for c in nb.cells if c.cell_type == "code" and "Question(" in c.source]
    assert quiz_cells and all("None" in c.source for c in quiz_cells)
    # its nbgrader checksum is that of the cell without digests (the release's is a hash of them, which
    # answers could be tried against), so Validate also finds it unchanged
    from nbgrader.utils import compute_checksum

    assert [w for w in wanted if w.startswith("checksum of the quiz cell")]
    assert all(c.metadata["nbgrader"]["checksum"] == compute_checksum(c) for c in quiz_cells)
    pinned = (bundle / "requirements.txt").read_text()
    assert "torch==" in pinned and "-e ." not in pinned.splitlines()
    # the README names every forbidden helper the bundle keeps, so an instructor knows what students can read
    readme = (ROOT / "README.md").read_text()
    gives_away = readme[readme.index("**What a bundle still gives away**"):readme.index("bundles keep answers out")]
    kept = homework.transform(lesson, homework.lesson_files(lesson))[1].kept
    assert not [n for n in kept if f"`{n.removeprefix('course_lib.')}`" not in gives_away], (
        f"{lesson} keeps {kept}: name each in README's 'What a bundle still gives away'")


def test_bundle_leaves_out_what_only_later_lessons_use(bundles, tmp_path):
    """Lesson 06's wheel carries what lessons 01-06 import and no module or asset only a later lesson uses,
    and its scan looks for every later lesson's answers too (a bundle must not hand out an assignment to
    come)."""
    bundle = bundles("06_translation")
    with zipfile.ZipFile(next(bundle.glob("*.whl"))) as wheel:
        names = set(wheel.namelist())
    for earlier in ("rnn", "cnn", "attention", "multihead", "positional", "transformer", "decoding", "bleu", "kv_cache"):
        assert f"course_lib/{earlier}.py" in names, f"{earlier}.py, which lessons 01-06 import, is missing"
    for later in ("bert", "pretraining", "wordpiece", "span_qa", "span_masking", "gpt", "preferences", "checkpoints"):
        assert f"course_lib/{later}.py" not in names, f"{later}.py is only used after lesson 06, yet the wheel carries it"
    assert not [n for n in names if n.startswith(("assets/mini_bert/", "assets/mini_gpt/", "assets/benchmarks/"))], (
        "the wheel carries a later lesson's checkpoint or figures")
    wanted = homework.needles("06_translation")
    assert "reference course_lib.gpt.GPT of 10_gpt_rlhf" in wanted
    assert any(w.startswith("solution body") and w.endswith("of 07_bert_pretraining") for w in wanted)
    shutil.copytree(bundle, tmp_path / "bundle")
    shutil.copy(ROOT / "course_lib" / "gpt.py", tmp_path / "bundle" / "gpt.py")
    assert "reference course_lib.gpt.GPT of 10_gpt_rlhf in gpt.py" in homework.scan(tmp_path / "bundle", wanted)


def test_bundle_drops_the_helpers_only_its_answers_used():
    """In lesson 07's bundle nsp_pairs is the learner's, so its private ``_documents`` goes, although other
    modules define a ``_documents`` of their own; the 80/10/10 step only the reference mask_tokens used
    becomes a stub that raises."""
    _, done = homework.transform("07_bert_pretraining", homework.lesson_files("07_bert_pretraining"))
    assert "course_lib.pretraining._documents" in done.dropped
    assert "corrupt_chosen" in done.removed["course_lib.pretraining"]
    assert "course_lib.bert_normalizer.normalize" in done.kept  # WordPieceTokenizer still stands on it


def test_quiz_without_digests_is_homework():
    quiz = Quiz("lesson", [Question("q1", "pick", None, {"a": "x", "b": "y"}), Question("q2", "count", None)])
    assert quiz.homework
    assert "Self-check is off for graded homework" in quiz.widget().value
    quiz.check_format("q1", "b", "answer_q1")  # the visible check still works
    with pytest.raises(Exception, match="graded homework"):
        quiz.is_correct("q1", "a")


def test_stubs_call_the_learners_own_code(bundles, tmp_path):
    """The bundle's library calls the notebook's (``__main__``'s) function of the exercise's name, says so
    in one line while there is none, and a test cell that provides the course's version leaves it alone."""
    lib = unpacked(bundles("02_attention"), tmp_path / "lib")
    script = """
import torch, course_lib
from course_lib import attention, checks
from course_lib.checks import Unanswered
assert course_lib.__file__.startswith(LIB), course_lib.__file__
try:
    attention.masked_softmax(torch.zeros(2, 3))
except Unanswered as error:
    assert "masked_softmax` is an exercise of this homework" in str(error), error
else:
    raise AssertionError("no learner's masked_softmax yet: the stub must say so")
def masked_softmax(scores, mask=None):
    return torch.full_like(scores, 7.0)
assert attention.masked_softmax(torch.zeros(2, 3)).eq(7).all()
with checks.provided({"masked_softmax": attention.masked_softmax}):
    assert attention.masked_softmax(torch.zeros(2, 3)).eq(7).all()
assert not isinstance(object(), attention.AdditiveAttention)  # not written yet: nothing is one
class AdditiveAttention(torch.nn.Module):
    def __init__(self, d):
        super().__init__()
        self.d = d
made = attention.AdditiveAttention(5)
assert type(made) is AdditiveAttention and made.d == 5 and isinstance(made, attention.AdditiveAttention)
def one_line(call, expected):
    try:
        call()
    except Unanswered as error:
        assert expected in str(error) and "\\n" not in str(error), error
    else:
        raise AssertionError(f"no message saying {expected!r}")
def masked_softmax(scores):  # the signature the exercise does not state
    return scores
one_line(lambda: attention.masked_softmax(torch.zeros(2, 3), None), "give it the signature its exercise states")
def masked_softmax(scores, mask=None):  # calls the course's version, which here is itself
    return attention.masked_softmax(scores, mask)
one_line(lambda: attention.masked_softmax(torch.zeros(2, 3)), "is your `masked_softmax` itself")
masked_softmax = torch.zeros(3)  # the name reused for a result
one_line(lambda: attention.masked_softmax(torch.zeros(2, 3)), "no longer your function: it now names a Tensor")
print("ok")
"""
    result = subprocess.run([sys.executable, "-c", f"LIB = {str(lib)!r}\n{script}"], capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": str(lib)}, cwd=tmp_path)
    assert result.stdout.strip() == "ok", result.stderr


def test_homework_submission_grades_as_self_study(bundles, tmp_path):
    """Graded against the self-study release, with the full course_lib: the homework notebook with the right
    answers scores full marks (its quiz checked by the hidden tests), the untouched one zero."""
    lesson = "01_rnn_limits"
    handed_out = nbformat.read(bundles(lesson) / lesson / f"{lesson}.ipynb", as_version=4)
    answers = autograde.cells_by_id(autograde.solved(lesson))
    solved = copy.deepcopy(handed_out)
    for gid, cell in autograde.cells_by_id(solved).items():
        if cell.metadata["nbgrader"].get("solution"):
            cell.source = answers[gid].source if cell.cell_type == "code" else f"My own answer to {gid}."
    course_dir = course.scratch_course([lesson], tmp_path)
    course.generate([lesson], course_dir)
    autograde.submit(course_dir, "solved", lesson, solved)
    autograde.submit(course_dir, "untouched", lesson, handed_out)
    outcomes = autograde.grade_class(course_dir, lesson, workers=1, timeout=600, skip_experiments=True)
    assert all(o.status == "graded" for o in outcomes), outcomes
    scores = autograde.scores(course_dir, lesson)
    release = nbformat.read(course.release_path(lesson), as_version=4)
    full = {gid: float(c.metadata["nbgrader"]["points"]) for gid, c in autograde.cells_by_id(release).items()
            if c.metadata["nbgrader"].get("grade") and not c.metadata["nbgrader"].get("solution")}
    assert any(gid.startswith("test_q") for gid in full)
    assert {gid: scores["solved"][gid] for gid in full} == full
    assert {gid: scores["untouched"][gid] for gid in full} == {gid: 0 for gid in full}
    # the grader sees each written answer's rubric in the autograded copy (formgrader shows it); feedback does not
    graded = nbformat.read(course_dir / "grading" / "autograded" / "solved" / lesson / f"{lesson}.ipynb", as_version=4)
    written = [i for i, c in enumerate(graded.cells) if c.cell_type == "markdown" and c.metadata.get("nbgrader", {}).get("solution")]
    assert written and all(preprocessors.is_rubric(graded.cells[i + 1]) for i in written)
    rubrics = [rubric_text(c.source) for c in graded.cells if preprocessors.is_rubric(c)]
    assert all(r in c.source for r, c in zip(rubrics, (graded.cells[i + 1] for i in written)))
    course.nbgrader(["generate_feedback", lesson], cwd=course_dir)
    feedback = (course_dir / "grading" / "feedback" / "solved" / lesson / f"{lesson}.html").read_text()
    assert "My own answer to" in feedback and "Rubric for" not in feedback
    assert not [r for r in rubrics if r[:60] in html.unescape(feedback)]


def rubric_text(source: str) -> str:
    return source.split("\n\n", 1)[1].split("\n\n*Model answer.*")[0]


@pytest.mark.parametrize("lesson", RELEASED)
def test_every_written_answer_has_a_rubric_kept_from_students(lesson):
    """Each written answer's solutions cell holds a rubric (full marks, 1 point, 0) after the model answer;
    neither is in the released notebook."""
    source = nbformat.read(course.solution_path(lesson), as_version=4)
    written = [c for c in source.cells if c.cell_type == "markdown" and c.metadata.get("nbgrader", {}).get("solution")]
    assert written
    for cell in written:
        model, text = preprocessors.rubric(cell.source)
        gid = cell.metadata["nbgrader"]["grade_id"]
        assert model and all(part in text for part in ("**Full marks", "**1 point:**", "**0:**")), f"{lesson} {gid}: no rubric"
        found = homework.scan(ROOT / "notebooks" / lesson, {"rubric": " ".join(text.split()), "model": " ".join(model.split())})
        assert not found, f"{lesson} {gid}: {found}"


def test_readme_guide_table_matches_the_notebooks():
    table = guide.guide_table()
    assert table in (ROOT / "README.md").read_text(), (
        "README's instructor guide table is stale: replace it with `python -m course_lib.grading.homework guide`")


# Per lesson, one reference the bundle stubs (checked to be the homework edition's while the solved notebook runs on
# the bundle's course_lib).
RUN_ON_BUNDLE = {"01_rnn_limits": "rnn.rnn_forward", "02_attention": "attention.scaled_dot_product_attention",
                 "03_multihead": "multihead.split_heads", "04_positional": "positional.sinusoidal_encoding",
                 "05_transformer": "transformer.Transformer", "06_translation": "decoding.beam_search",
                 "07_bert_pretraining": "pretraining.nsp_pairs", "08_bert_finetuning": "span_qa.best_spans",
                 "09_roberta_spanbert": "byte_bpe.bytes_to_unicode", "10_gpt_rlhf": "gpt.GPT"}


@pytest.mark.parametrize("lesson", per_lesson(list(RUN_ON_BUNDLE)))
def test_solved_homework_notebook_runs_on_the_homework_library(lesson, bundles, tmp_path):
    """Top to bottom (small budget), the learner's answers in, on the bundle's course_lib: every experiment runs."""
    bundle = bundles(lesson)
    lib = unpacked(bundle, tmp_path / "lib")
    nb = nbformat.read(bundle / lesson / f"{lesson}.ipynb", as_version=4)
    answers = autograde.cells_by_id(autograde.solved(lesson))
    for gid, cell in autograde.cells_by_id(nb).items():
        if cell.metadata["nbgrader"].get("solution"):
            cell.source = answers[gid].source
    nb.cells.append(nbformat.v4.new_code_cell(
        f"import course_lib\nassert course_lib.__file__.startswith({str(lib)!r})\n"
        f"assert {RUN_ON_BUNDLE[lesson]}.__doc__.startswith('Homework')"))
    from nbclient import NotebookClient

    env = {"PYTHONPATH": str(lib), "NBGRADER_EXECUTION": "1"}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        NotebookClient(nb, timeout=300, resources={"metadata": {"path": str(tmp_path)}}).execute()
    finally:
        for k, v in saved.items():
            os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)


def test_make_homework_names_the_command():
    assert "course_lib.grading.homework build $(LESSON)" in (ROOT / "Makefile").read_text()
