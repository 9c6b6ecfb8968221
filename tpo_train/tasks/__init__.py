"""Training tasks: one registered object per task (``temporal``, ``region``, ``mask``) that owns everything
a head needs from the rest of the code.

A :class:`Task` says: its special tokens (``trigger``, ``placeholder``), its example type and the data-reader
formats that produce it, its instruction templates and answers (``instruction``, ``text_answer``), the media
the LM sees (``media``), what the head needs per example (``payload``) and per micro-batch (``collate`` →
head inputs, targets), a user box at ``<track_box>`` (``input_box``), the head factory (``build_head``; the
head owns forward, loss and decode) and the key its loss is logged under (``loss_key``). The batch builder,
the TPO model (tokens, task tokens, heads, routing), generation, the recipe's log, ``tpo-train plan`` and the
checkpoint spec ask the registry (:data:`TASKS`) for these instead of naming tasks.

Adding a head = these files (the toy ``count`` task of the tests is exactly this:
``tests/train/_count_task.py`` is the module, ``tests/train/test_tasks.py`` adds its two registry entries and
tests it)::

    tpo_train/tasks/<task>.py   the example dataclass (``task: str = "<task>"``) and its reader function
                                ``read_<fmt>(path, source, media) -> ReadResult``, the head spec (a frozen
                                dataclass), the head (a ``heads.base.TaskHead``: forward, loss with a
                                ``"total"``, decode), ``class <Task>(Task)`` (class attributes and seven
                                methods) and ``TASK = <Task>()``
    tpo_train/tasks/base.py     two lines: ``TASKS.add("<task>", "tpo_train.tasks.<task>:TASK", "<help>")``
                                and ``READERS.add("<fmt>", "tpo_train.tasks.<task>:read_<fmt>", "<help>")``
                                (lazy: nothing is imported until a config names them)
    tests/train/test_<task>.py  its tests

A plugin or a test may instead call ``register_task(<Task>)`` (and ``READERS.add``) at start-up. A large head
may live in ``tpo_train/heads/<task>.py``, imported by the task module: one file more. Nothing else changes:
``model.heads.<task>: {...}`` in a config builds the head; its tokens are added after the paper's seven (whose
ids stay those of the public checkpoints) and its task token is drawn after the built-in ones; ``optim.lr``
takes ``<task>_head`` and ``<task>_token``; ``model.head_weights.<task>`` (default 1.0) weights its loss; the
log gets ``<task>_loss``; checkpoints record the spec and reload it through the task.

Forgetting a piece fails at start-up, not silently: a class without one of the methods or attributes raises
:class:`TaskError` naming every missing piece when it is instantiated or registered; a task whose formats no
reader has, whose example type does not name it, or whose tokens another task uses is refused when it is
registered (a lazy entry: when a config first names it); a config naming an unregistered head is a
``ConfigError``. The pieces that used to be forgotten are no longer separate edits: the batch builder
collates every head the model has through its task, and the log's loss keys come from the model's heads.
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
