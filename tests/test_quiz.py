"""Quiz answers are checked by digest, never stored in plain text."""
import pytest

from course_lib.checks import CheckFailed, Unanswered
from course_lib.notebook import friendly_message
from course_lib.quiz import Question, Quiz, digest


def make_quiz():
    return Quiz("lesson", [Question("q1", "pick", digest("lesson", "q1", "b"), {"a": "x", "b": "y"}),
                           Question("q2", "count", digest("lesson", "q2", 16))])


def test_right_answers_pass_in_any_case_or_spacing():
    quiz = make_quiz()
    quiz.check("q1", " B ", "answer_q1")
    quiz.check("q2", 16, "answer_q2")


def test_wrong_and_malformed_answers_explain_themselves():
    quiz = make_quiz()
    with pytest.raises(CheckFailed, match="not the right answer"):
        quiz.check("q1", "a", "answer_q1")
    with pytest.raises(CheckFailed, match="one of 'a', 'b'"):
        quiz.check("q1", "z", "answer_q1")
    with pytest.raises(CheckFailed, match="should be an integer"):
        quiz.check("q2", "16", "answer_q2")


def test_digest_depends_on_lesson_question_and_answer():
    assert len({digest("l", "q1", "a"), digest("l", "q2", "a"), digest("m", "q1", "a"), digest("l", "q1", "b")}) == 4


def test_widget_builds_one_row_per_question():
    assert len(make_quiz().widget().children) == 2


def test_an_answer_left_at_none_is_unfinished_not_wrong():
    quiz = make_quiz()
    for question in ("q1", "q2"):
        with pytest.raises(Unanswered, match="not answered yet") as caught:
            quiz.check(question, None, f"answer_{question}")
        assert isinstance(caught.value, NotImplementedError)  # scores zero like an unfinished exercise
        assert friendly_message(caught.value, caught.tb).startswith("⏸ `answer_")
