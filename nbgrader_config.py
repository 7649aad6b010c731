"""The repository as an nbgrader course.

Hand-edited lesson sources live in solutions/<lesson>/<lesson>.ipynb; the student
versions that `make release` generates live in notebooks/<lesson>/. Everything an
instructor's grading produces (gradebook, submissions, autograded copies, feedback)
goes under grading/, which git ignores, so it never mixes with the committed folders.
"""
import os

c = get_config()  # noqa: F821 (provided by traitlets when nbgrader loads this file)

root = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.root = root
c.CourseDirectory.course_id = "attention-transformers-bert"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "notebooks"
c.CourseDirectory.submitted_directory = os.path.join("grading", "submitted")
c.CourseDirectory.autograded_directory = os.path.join("grading", "autograded")
c.CourseDirectory.feedback_directory = os.path.join("grading", "feedback")
os.makedirs(os.path.join(root, "grading"), exist_ok=True)
# A student's own HTML export is never copied into grading: feedback is HTML written under the
# notebook's name, and a copied read-only export there would make generate_feedback fail.
from nbgrader.coursedir import CourseDirectory  # noqa: E402

c.CourseDirectory.ignore = [*CourseDirectory.class_traits()["ignore"].default(), "*.html"]
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(root, "grading", "gradebook.db")
# `nbgrader export` writes grading/grades.csv, not grades.csv wherever it runs (`--to` still chooses).
c.ExportPlugin.to = os.path.join(root, "grading", "grades.csv")

# `nbgrader validate` (and JupyterLab's Validate button) cuts every line at this width: the course's
# one-line messages (course_lib/checks.py, with the values they quote) must be shown whole. Its
# separator lines are as wide; a terminal wraps them.
c.Validator.width = 1000

# A student notebook runs its training cells on a small budget under NBGRADER_EXECUTION,
# so no cell comes near this; it only stops a runaway cell (that cell scores zero).
c.Execute.timeout = 60

# Stderr never costs points: a warning or a print to stderr from correct code is removed
# before grading. Exceptions are kept, so a failing test still scores zero.
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = r"(?s).*"

# The student version of an answer cell.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# Hardening (course_lib/grading/preprocessors.py): submissions are rebuilt on the released notebook with
# the student's work (found by grade id, cell id, then content; every cell kept), tampering code is
# refused with a reason, the kernel runs sealed in bubblewrap with a limit on its processes
# (course_lib/grading/sandbox.py; grading refuses to run student code where it cannot start, unless
# --ResilientExecute.sandbox=False), a dying kernel costs only the cell that killed it, and feedback never
# shows hidden test code. Student code runs only on the checked copy of a submission that
# `python -m course_lib.grading.autograde grade LESSON` stages in grading/staged: plain
# `nbgrader autograde` (and Formgrader's Autograde button), which would read grading/submitted as it is,
# refuses before it touches anything and names that command.
from nbgrader.converters import Autograde, GenerateFeedback  # noqa: E402
from nbgrader.preprocessors import ClearOutput, Execute  # noqa: E402

from course_lib.grading.autograde import refuse_unstaged  # noqa: E402
from course_lib.grading.preprocessors import HideHiddenTests, RebuildFromRelease, ResilientExecute  # noqa: E402

refuse_unstaged(Autograde)

_sanitize = list(Autograde.class_traits()["sanitize_preprocessors"].default())
_sanitize.insert(_sanitize.index(ClearOutput) + 1, RebuildFromRelease)
c.Autograde.sanitize_preprocessors = _sanitize
c.Autograde.autograde_preprocessors = [
    ResilientExecute if p is Execute else p for p in Autograde.class_traits()["autograde_preprocessors"].default()
]
c.GenerateFeedback.preprocessors = [HideHiddenTests, *GenerateFeedback.class_traits()["preprocessors"].default()]

# Homework through nbgrader's exchange (README, "Homework through the exchange"; tests/test_exchange.py):
# one exchange per student, never nbgrader's shared /usr/local/share/nbgrader/exchange, where anyone who
# learns a submission's name or a feedback file's hash can open it (nbgrader makes them 0777/0644). Each
# student's exchange is /srv/nbgrader/students/<student>/exchange, inside a folder an administrator makes
# once (owner the instructor, group the student's own, mode 0750; /srv/nbgrader/students 0711): only the
# instructor and that student can enter it. The instructor names a student's exchange on every exchange
# command (--Exchange.root=...); the default is the running account's own, which the instructor has not
# got, so a command that forgets it fails instead of releasing anything.
import getpass  # noqa: E402

c.Exchange.root = os.path.join("/srv/nbgrader/students", getpass.getuser(), "exchange")
