"""Training tasks: one object per task owns everything a head needs from the rest of the code.

Placeholder: the walk-through is written below once the toy-head test exists.
"""

from .base import BUILTIN_TASKS, TASKS, Task, TaskError, get_task, register_task, registered, unregister_task

__all__ = [
    "BUILTIN_TASKS",
    "TASKS",
    "Task",
    "TaskError",
    "get_task",
    "register_task",
    "registered",
    "unregister_task",
]
