"""Training tasks: one registered object per task (``temporal``, ``region``, ``mask``) that owns everything
a head needs from the rest of the code.

A :class:`Task` says: its special tokens (``trigger``, ``placeholder``), its example type and the data-reader
formats that produce it, its instruction templates and answers (``instruction``, ``text_answer``), the media
the LM sees (``media``), what the head needs per example (``payload``) and per micro-batch (``collate`` →
head inputs, targets), a user box at ``<track_box>`` (``input_box``), the head factory (``build_head``; the
head owns forward, loss and decode) and the key its loss is logged under (``loss_key``). The batch builder,
the TPO model (tokens, task tokens, heads, routing), generation, the recipe's log, ``tpo-train plan`` and the
checkpoint spec ask the registry (:data:`TASKS`) for these instead of naming tasks.

Adding a head is three files (the task module, two lazy registry lines in ``tasks/base.py``, its tests);
docs/ARCHITECTURE.md ("A training head") walks through them, with the toy ``count`` task of the tests
(``tests/train/_count_task.py``, ``tests/train/test_tasks.py``) as the worked example. A forgotten piece fails
at registration (:class:`TaskError` naming every missing piece), not silently.
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
