"""Seeded tasks: procedural spike-train data sets and the loader of a shipped one (scikit-learn only for digits)."""

from .builtin import TASKS, Split, Task, cue_task, digits_task, make_task, pattern_task, store_recall_task, xor_task

__all__ = ["Split", "Task", "TASKS", "make_task", "cue_task", "pattern_task", "store_recall_task",
           "xor_task", "digits_task"]
