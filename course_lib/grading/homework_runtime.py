# Each homework bundle's course_lib/_homework.py: course_lib.grading.homework.runtime writes this file into the
# bundle with LESSON and LEARNER filled in; nothing imports it from course_lib.grading.
"""This course_lib is the homework edition of one lesson: that lesson's exercises are yours to write.

Where the library needs one of them, it calls your own function or class of that name, from the
notebook you are running.
"""
import inspect
import sys

from course_lib.checks import Unanswered

LESSON = ""  # the lesson (set when the bundle is built)
LEARNER: list[str] = []  # the names whose course version is the learner's own here (set when built)


def learner(module: str, name: str, stub: object) -> object:
    """The notebook's own ``name``; Unanswered (shown as one line) while it is not defined."""
    found = getattr(sys.modules.get("__main__"), name, None)
    if found is None or found is stub:
        raise Unanswered(f"`{name}` is an exercise of this homework ({LESSON}): the course library calls your "
                         f"own `{name}`, which is not defined yet. Finish its exercise and run that cell, then this one.")
    return found


_ACTIVE: set[str] = set()  # the learner's functions running through a stub now


def call(module: str, name: str, stub: object, args: tuple, kwargs: dict) -> object:
    """Call the learner's ``name``; an argument only the course's version takes is said in one line."""
    own = learner(module, name, stub)
    if not callable(own):
        raise Unanswered(f"`{name}` is no longer your function: it now names a {type(own).__name__}. Run the cell of "
                         f"its exercise again, and give results names of their own.")
    if name in _ACTIVE:
        raise Unanswered(f"Your `{name}` calls `{module}.{name}`, which in this homework is your `{name}` itself: "
                         "write it without the course's version.")
    try:
        inspect.signature(own).bind(*args, **kwargs)
    except TypeError as error:
        raise Unanswered(f"The course library calls your `{name}` (as `{module}.{name}`) with arguments it does not "
                         f"take ({error}): give it the signature its exercise states.") from None
    except ValueError:  # no signature to check (a builtin)
        pass
    _ACTIVE.add(name)
    try:
        return own(*args, **kwargs)
    finally:
        _ACTIVE.discard(name)


def removed(module: str, name: str) -> None:
    raise NotImplementedError(f"`{module}.{name}` belongs to the reference solution of {LESSON} and is not in "
                              "the homework edition of course_lib.")


class LearnerClass(type):
    """A stand-in for a class the learner writes: calling it makes the learner's class."""

    def __call__(cls, *args, **kwargs):
        own = call(cls.__module__, cls.__name__, cls, args, kwargs)
        for table in vars(sys.modules[cls.__module__]).values():  # tables keyed by the course's class
            if isinstance(table, dict) and cls in table:
                table.setdefault(type(own), table[cls])
        return own

    def _own(cls):
        found = getattr(sys.modules.get("__main__"), cls.__name__, None)
        return found if isinstance(found, type) and found is not cls else None

    def __instancecheck__(cls, obj):  # nothing is an instance of a class not written yet
        return cls._own() is not None and isinstance(obj, cls._own())

    def __subclasscheck__(cls, other):
        return cls._own() is not None and issubclass(other, cls._own())
