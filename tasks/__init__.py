"""Tasks and environments: seeded data sets and the loaders of shipped ones (numpy; scikit-learn only to load digits)."""

from .builtin import TASKS, Split, Task, cue_task, digits_task, make_task, pattern_task, store_recall_task, xor_task

__all__ = ["Split", "Task", "TASKS", "make_task", "cue_task", "pattern_task", "store_recall_task",
           "xor_task", "digits_task"]
