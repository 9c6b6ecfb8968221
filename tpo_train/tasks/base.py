"""The training-task contract (:class:`Task`) and the task registry (:data:`TASKS`).

A task is everything a head needs from the rest of the code, in one object: its special tokens, its example
type and the reader formats that produce it, its instruction templates and answers, the per-example payload
and its collation into head inputs/targets, the head factory (whose head owns loss and decode), and the key
its loss is logged under. The model, the batch builder, the recipe's log and the eval adapter ask the registry
instead of naming tasks, so a new task is one module (see :mod:`tpo_train.tasks`).

This module imports nothing of the model and only the reader registry of the data code: ``model.spec`` reads
the task registry, and the task modules (which import heads and specs) are loaded lazily by name.
"""

from __future__ import annotations

import abc
import contextlib
import dataclasses
import random
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, ClassVar, Optional

from tpo_eval.models.videochat_tpo_io import TASK_TOKENS
from tpo_eval.registry import Registry

from ..data.readers import CONVERSATION_FORMATS, READERS

#: The tasks of the paper, in the order their tokens and learnable task tokens are made (checkpoints rely on
#: it). Every model has their tokens; a registered task beyond these gets its tokens only in models with its
#: head, appended after the built-in ones.
BUILTIN_TASKS = ("temporal", "region", "mask")
#: The built-in tasks' tokens plus ``<track_box>`` (a user box's input placeholder) in the public TPO order
#: (ids 32000..32006 there), fixed so that checkpoints agree on ids. Added to every model's tokenizer.
NEW_TOKENS = TASK_TOKENS  # the public checkpoints' order, as tpo-eval's VideoChat-TPO adapter reads it
BOX_INPUT_TOKEN = "<track_box>"

TASKS: Registry[Task] = Registry("training task")
TASKS.add("temporal", "tpo_train.tasks.temporal:TASK", "temporal grounding: <time_begin><temp> → spans")
TASKS.add("region", "tpo_train.tasks.region:TASK", "referring boxes: <box_begin><boxes> → a box")
TASKS.add("mask", "tpo_train.tasks.mask:TASK", "segmentation/tracking: <track_begin><tracking> → SAM2")
# A new task's readers are added here too, lazily, beside it (the paper's are in data/readers/):
# READERS.add("<fmt>", "tpo_train.tasks.<task>:read_<fmt>", "<what the layout is>")

#: What a task class must set (class attributes) besides the abstract methods.
_ATTRS = {
    "name": str,
    "trigger": str,
    "placeholder": str,
    "spec_type": type,
    "example_type": type,
    "formats": tuple,
}


class TaskError(TypeError):
    """A task class is incomplete or clashes with a registered one (raised at registration, at start-up)."""


class Task(abc.ABC):
    """One training task. Subclass, set the class attributes, implement the abstract methods, then
    :func:`register_task` the class (built-in tasks: a ``TASK = MyTask()`` in their module, named in
    :data:`TASKS`).

    Class attributes: ``name`` (the task key everywhere: ``model.heads.<name>``, ``<name>_loss`` in the log,
    ``heads.<name>`` and ``task_tokens.<name>`` in state dicts), ``trigger``/``placeholder`` (the special
    tokens; the answer the LM learns is ``trigger + placeholder``), ``spec_type`` (the head's frozen spec
    dataclass, saved in checkpoints), ``example_type`` (the frozen example dataclass, whose ``task`` field
    defaults to ``name``), ``formats`` (the data-reader formats, ``READERS`` names, that produce it).

    ``builder`` below is the :class:`tpo_train.data.batches.BatchBuilder` (``model``, ``adapter``,
    ``features``, ``seed``, ``frames``, ``cache`` (a dict a task may keep things in), and its media helpers
    ``video(stem)``, ``image(path)``, ``images(paths)``).
    """

    name: ClassVar[str]
    trigger: ClassVar[str]
    placeholder: ClassVar[str]
    spec_type: ClassVar[type]
    example_type: ClassVar[type]
    formats: ClassVar[tuple[str, ...]]
    #: True when the head cannot run on the hidden state alone (a forward without its inputs skips it, and
    #: generation without them answers in text or raises)
    needs_inputs: ClassVar[bool] = False

    def __new__(cls, *args: Any, **kwargs: Any) -> Task:
        # before ABC's own check (in object.__new__), so a forgotten piece gets one message naming them all
        missing = _missing_pieces(cls)
        if missing:
            raise TaskError(_missing_message(cls, missing))
        return super().__new__(cls)

    # ---- text: templates and answers
    @abc.abstractmethod
    def instruction(self, example: Any, rng: random.Random, textualize: bool = False) -> tuple[int, str]:
        """``(template index, user text)`` drawn with ``rng`` (one draw per example, reproducible)."""

    @abc.abstractmethod
    def text_answer(self, example: Any) -> str:
        """The target written as text (the textualized-data ablation)."""

    @property
    def answer(self) -> str:
        """The task-assignment answer: trigger + placeholder (what evaluation forces to call the head)."""
        return self.trigger + self.placeholder

    def target_text(self, example: Any, textualize: bool = False) -> str:
        """The answer trained on: :attr:`answer`, or the target as text when ``textualize``."""
        return self.text_answer(example) if textualize else self.answer

    # ---- data: media, payload, collation
    @abc.abstractmethod
    def media(self, builder: Any, example: Any) -> tuple[Any, Any]:
        """``(video frames | None, image | None)`` the LM sees for ``example``."""

    @abc.abstractmethod
    def payload(self, builder: Any, example: Any, encoded: Any, video: Any) -> Any:
        """What the head needs from one example (only asked when the model has this head)."""

    @abc.abstractmethod
    def collate(self, builder: Any, payloads: Sequence[Any], step: int, offset: int) -> tuple[Any, Any]:
        """``(head inputs | None, targets)`` for a micro-batch's payloads, in occurrence order."""

    def input_box(self, example: Any) -> Optional[tuple[float, float, float, float]]:
        """A user box the prompt carries at ``<track_box>`` (normalised xyxy), if any."""
        return None

    # ---- model: head factory, log key
    @abc.abstractmethod
    def build_head(self, spec: Any, llm_hidden: int) -> Any:
        """The :class:`tpo_train.heads.TaskHead` for ``spec`` (it owns forward, loss and decode)."""

    def meta_head(self, spec: Any, llm_hidden: int) -> Any:
        """The head with every parameter on the meta device (``tpo-train plan``)."""
        from accelerate import init_empty_weights

        with init_empty_weights(include_buffers=False):
            return self.build_head(spec, llm_hidden)

    def spec_from_dict(self, d: dict[str, Any]) -> Any:
        """The head spec saved in a checkpoint (JSON lists back to tuples)."""
        return self.spec_type(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})

    @property
    def loss_key(self) -> str:
        """The training log's key for this head's loss (averaged over the micro-batches that had it)."""
        return f"{self.name}_loss"


def _missing_pieces(cls: type) -> list[str]:
    missing = sorted(getattr(cls, "__abstractmethods__", ()))
    for attr, kind in _ATTRS.items():
        if not isinstance(getattr(cls, attr, None), kind):
            missing.append(f"{attr} ({kind.__name__})")
    return missing


def _missing_message(cls: type, missing: list[str]) -> str:
    return (
        f"task class {cls.__name__} is missing {', '.join(missing)}; every task defines them "
        f"(see tpo_train/tasks/__init__.py)"
    )


_CHECKED: set[str] = set()


def get_task(name: str) -> Task:
    """The registered task ``name`` (a lazy entry is imported and :func:`check_task`-ed on first use)."""
    task = TASKS.get(name)
    if name not in _CHECKED:
        _CHECKED.add(name)  # first, so that checking against the other tasks does not come back here
        try:
            check_task(task)
        except TaskError:
            _CHECKED.discard(name)
            raise
    return task


def format_tasks() -> dict[str, str]:
    """Reader format → the registered task its examples feed, from each task's ``formats`` (the one place
    they are declared)."""
    return {fmt: name for name in TASKS.names() for fmt in get_task(name).formats}


def reader_tasks() -> dict[str, str]:
    """Reader format → what its examples feed: a registered task, or ``conversation`` (the LM loss only).
    Read afresh on each call, so a task registered later (a plugin, a test) is in it."""
    return {**dict.fromkeys(CONVERSATION_FORMATS, "conversation"), **format_tasks()}


def token_tasks(head_tasks: Iterable[str]) -> tuple[str, ...]:
    """The tasks whose tokens a model with heads ``head_tasks`` has: the built-in ones, then the others in
    name order."""
    return BUILTIN_TASKS + tuple(sorted(set(head_tasks) - set(BUILTIN_TASKS)))


def log_keys(head_tasks: Iterable[str]) -> tuple[str, ...]:
    """Loss keys of the training log for a model with heads ``head_tasks``, in :func:`token_tasks` order."""
    heads = set(head_tasks)
    return ("loss", "lm_loss") + tuple(get_task(t).loss_key for t in token_tasks(heads) if t in heads)


def check_task(task: Task) -> None:
    """Refuse a task whose example type does not name it, whose formats no reader has, or whose tokens
    another task (or ``<track_box>``) uses."""
    if not dataclasses.is_dataclass(task.example_type) or not dataclasses.is_dataclass(task.spec_type):
        raise TaskError(f"task {task.name!r}: example_type and spec_type must be dataclasses")
    default = {f.name: f.default for f in dataclasses.fields(task.example_type)}.get("task")
    if default != task.name:
        raise TaskError(
            f"task {task.name!r}: {task.example_type.__name__} needs a field task: str = {task.name!r}"
        )
    unknown = [f for f in task.formats if f not in READERS]
    if unknown or not task.formats:
        raise TaskError(
            f"task {task.name!r}: formats {list(task.formats)} must name registered data readers "
            f"(unknown: {unknown}); register the reader with tpo_train.data.readers.READERS first"
        )
    mine = (task.trigger, task.placeholder)
    taken = {BOX_INPUT_TOKEN: "user boxes"}
    for other in TASKS.names():
        if other != task.name:
            o = get_task(other)
            taken.update({o.trigger: other, o.placeholder: other})
    # a built-in task's pair is in the public vocabulary (NEW_TOKENS); any other task brings a new pair
    builtin = task.name in BUILTIN_TASKS
    clash = [t for t in mine if t in taken or (t in NEW_TOKENS) != builtin]
    if clash or task.trigger == task.placeholder:
        raise TaskError(f"task {task.name!r}: tokens {clash or list(mine)} are taken or not distinct")


def register_task(cls: type[Task]) -> Task:
    """Check ``cls``, make its instance and add it to :data:`TASKS` (a missing piece or a clash raises
    :class:`TaskError` naming it). Usable as a class decorator; returns the instance."""
    missing = _missing_pieces(cls)
    if missing:
        raise TaskError(_missing_message(cls, missing))
    task = cls()
    check_task(task)
    TASKS.add(task.name, task, (cls.__doc__ or "").strip().split("\n")[0])
    _CHECKED.add(task.name)
    return task


def unregister_task(name: str) -> None:
    """Remove a task added with :func:`register_task` (tests; the built-in tasks stay)."""
    if name in BUILTIN_TASKS:
        raise TaskError(f"task {name!r} is built in")
    if name in TASKS:
        TASKS.unregister(name)
    _CHECKED.discard(name)


@contextlib.contextmanager
def registered(cls: type[Task]) -> Iterator[Task]:
    """``cls`` registered for the duration of the block."""
    task = register_task(cls)
    try:
        yield task
    finally:
        unregister_task(task.name)
