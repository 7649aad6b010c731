"""Check your understanding: multiple-choice and integer questions with hashed answers.

Answers are stored only as digests, so a notebook can check a learner's answer (in a
graded cell or in the instant self-check widget) without printing it. To make a digest
while authoring a lesson: ``python -m course_lib.quiz 01_rnn_limits q1 b``.

Graded homework (``course_lib.grading.homework``) hands out the quiz with every digest replaced by
``None``: the notebook then holds no answer material, the widget says self-check is off, and the
answers are checked only when the work is graded (the hidden tests run on the grader's copy of the
quiz, with its digests).
"""
from __future__ import annotations

import hashlib
import sys
from dataclasses import dataclass, field

from course_lib.checks import CheckFailed, Unanswered, check_choice


def normalise(answer: object) -> str:
    """Answers compare case- and space-insensitively; integers by value."""
    if isinstance(answer, bool):
        raise TypeError("answer with a letter or an integer, not True/False")
    if isinstance(answer, float) and answer.is_integer():
        answer = int(answer)
    return str(answer).strip().lower()


def digest(lesson: str, question: str, answer: object) -> str:
    """The stored form of an answer."""
    return hashlib.sha256(f"{lesson}/{question}/{normalise(answer)}".encode()).hexdigest()[:20]


@dataclass
class Question:
    """One question: a prompt, lettered options (empty for an integer answer), the answer's digest
    (None in a graded homework notebook, which carries no answers)."""

    id: str
    prompt: str
    answer_digest: str | None
    options: dict[str, str] = field(default_factory=dict)


class Quiz:
    """The questions of one lesson."""

    def __init__(self, lesson: str, questions: list[Question]):
        self.lesson = lesson
        self.questions = {q.id: q for q in questions}
        self.homework = any(q.answer_digest is None for q in questions)

    def is_correct(self, question: str, answer: object) -> bool:
        """Whether ``answer`` is right for ``question``; in graded homework nobody can tell before grading."""
        if self.questions[question].answer_digest is None:
            raise CheckFailed(f"{question} is part of graded homework: its answer is not in this notebook and is "
                              "checked when your work is graded.")
        return digest(self.lesson, question, answer) == self.questions[question].answer_digest

    def check_format(self, question: str, answer: object, name: str) -> None:
        """A well-formed answer: one of the letters, or an integer. ``None`` (the answer cell's
        placeholder) raises ``Unanswered``: the question is not answered yet."""
        if answer is None:
            raise Unanswered(f"`{name}` is not answered yet: replace its None in the answer cell with your answer, "
                             "run that cell, then this one.")
        q = self.questions[question]
        if q.options:
            check_choice(answer, list(q.options), name)
        elif type(answer) is not int:
            raise CheckFailed(f"`{name}` should be an integer (for example 3); yours is {answer!r}.")

    def check(self, question: str, answer: object, name: str) -> None:
        """Raise CheckFailed unless ``answer`` is well-formed and right."""
        self.check_format(question, answer, name)
        if not self.is_correct(question, answer):
            raise CheckFailed(f"`{name}` = {answer!r} is not the right answer to {question}; reread the section and try again.")

    def widget(self):
        """Instant self-check: pick or type an answer, press Check, see ✓ or ✗ (off for graded homework)."""
        import ipywidgets as w

        if self.homework:
            return w.HTML("<b>Self-check is off for graded homework</b>: answer each question in its answer cell "
                          "below; your answers are checked when your work is graded.")
        rows = []
        for q in self.questions.values():
            if q.options:
                field_ = w.RadioButtons(options=[(f"{k}) {v}", k) for k, v in q.options.items()],
                                        value=None, layout=w.Layout(width="auto"))
            else:
                field_ = w.IntText(value=0, description="answer")
            button = w.Button(description="Check", button_style="info")
            verdict = w.HTML()

            def on_click(_, q=q, field_=field_, verdict=verdict):
                if field_.value is None:
                    verdict.value = "choose an answer first"
                elif self.is_correct(q.id, field_.value):
                    verdict.value = "<b style='color:green'>✓ right</b>"
                else:
                    verdict.value = "<b style='color:#b00'>✗ not yet, try again</b>"

            button.on_click(on_click)
            rows.append(w.VBox([w.HTML(f"<b>{q.id}.</b> {q.prompt}"), field_, w.HBox([button, verdict])]))
        return w.VBox(rows)


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit("usage: python -m course_lib.quiz LESSON QUESTION ANSWER")
    print(digest(*sys.argv[1:]))
