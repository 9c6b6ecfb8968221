"""The simulation: one clip planned from its own seeded ``numpy`` generator, so any clip can be rebuilt alone.

Per object: half stay all along, a quarter fade in late, a quarter fade out early; 0–3 objects move (one or two
straight segments, distinct directions), and the numbers of movers and pushes are drawn so that 0, 1, 2 and 3
moving objects are equally likely; a push places the pusher against its target at the moment of contact; 40 %
of objects change colour once; 80 % of clips have one anomaly. Activities of one object never overlap in time.
A layout that would leave the frame is redrawn.
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from .world import ANOMALIES, COLOURS, DIRECTIONS, N_OBJECTS, SHAPES, Clip, Event, Track

PUSH_P = 0.45  # P(push) when there is a mover and a still object
# P(number of movers): with PUSH_P, 0, 1, 2 and 3 moving objects (pushed ones included) are equally likely
MOVERS_P = (0.25, 0.25 / (1 - PUSH_P), (0.25 - 0.25 * PUSH_P / (1 - PUSH_P)) / (1 - PUSH_P))
MOVERS_P = (*MOVERS_P, 1.0 - sum(MOVERS_P))
ANOMALY_P = 0.8


class _Plan:
    """Mutable per-object plan while a clip is drawn up; ``busy`` holds the frame slots already used."""

    def __init__(self, shape: str, colour: str, size: int, t: int) -> None:
        self.shape, self.colour, self.size = shape, colour, size
        self.appear, self.leave, self.fade_in, self.fade_out = 0, t, 0, 0
        self.moves: list[tuple[int, int, str, float, Optional[int]]] = []  # (f0, f1, dir, speed, cause)
        self.recolour: Optional[tuple[int, int, str]] = None
        self.anomaly: Optional[tuple[int, int, str]] = None
        self.busy: list[tuple[int, int]] = []
        self.pusher = False  # placed against the object it pushes

    def free(self, a: int, b: int) -> bool:
        return self.appear + self.fade_in <= a and b <= self.leave - self.fade_out and all(
            b + 1 < s or a > e + 1 for s, e in self.busy)


def _slot(rng: np.random.Generator, p: _Plan, length: int, t: int, tries: int = 20) -> Optional[int]:
    for _ in range(tries):
        a = int(rng.integers(0, max(1, t - length)))
        if p.free(a, a + length):
            return a
    return None


def plan_clip(rng: np.random.Generator, vid: str, split: str, t: int, fps: float, size: int) -> Clip:
    """Draw one clip; retries its own layout until every object stays inside the frame."""
    while True:
        clip = _try_plan(rng, vid, split, t, fps, size)
        if clip is not None:
            return clip


def _try_plan(rng: np.random.Generator, vid: str, split: str, t: int, fps: float, s: int) -> Optional[Clip]:
    shapes = [SHAPES[i] for i in rng.choice(len(SHAPES), N_OBJECTS, replace=False)]
    names = list(COLOURS)
    plans = [_Plan(sh, names[int(rng.integers(len(names)))], int(round(s * rng.uniform(0.17, 0.23))), t)
             for sh in shapes]
    fade_max = max(2, t // 8)
    for p in plans:  # half stay all along, a quarter appear late, a quarter leave early
        u = rng.random()
        if u >= 0.5:
            d = int(rng.integers(2, fade_max + 1))
            if u < 0.75:
                p.appear, p.fade_in = int(rng.integers(t // 8, t // 2)), d
            else:
                p.leave, p.fade_out = int(rng.integers(t // 2, t - t // 8 + 1)), d
    speed = float(s) / 64.0 * float(rng.choice([1.0, 1.5, 2.0]))
    # P(movers = m) and P(push) are chosen so that 0, 1, 2 and 3 moving objects are equally likely
    movers = list(rng.permutation(N_OBJECTS)[: int(rng.choice(N_OBJECTS + 1, p=MOVERS_P))])
    pushed = None
    if len(movers) >= 1 and len(movers) < N_OBJECTS and rng.random() < PUSH_P:
        pushed = int(rng.choice([i for i in range(N_OBJECTS) if i not in movers]))
        if not _push(rng, plans[int(movers[0])], plans[pushed], int(movers[0]), t, speed):
            return None
        movers = movers[1:]
    for i in movers:
        for k in range(1 if rng.random() < 0.6 else 2):
            length = int(rng.integers(max(2, t // 8), t // 2 + 1))
            a = _slot(rng, plans[i], length, t)
            used = {m[2] for m in plans[i].moves}
            if a is None:
                continue
            d = str(rng.choice([x for x in DIRECTIONS if x not in used]))
            plans[i].moves.append((a, a + length, d, speed, None))
            plans[i].busy.append((a, a + length))
    for p in plans:
        if rng.random() < 0.4:
            length = int(rng.integers(2, max(3, t // 6) + 1))
            a = _slot(rng, p, length, t)
            if a is not None:
                p.recolour = (a, a + length, str(rng.choice([c for c in names if c != p.colour])))
                p.busy.append((a, a + length))
    if rng.random() < ANOMALY_P:
        _anomaly(rng, plans, t)
    tracks = _place(rng, plans, t, s)
    if tracks is None:
        return None
    events = sorted(_events(plans), key=lambda e: (e.start, e.obj, e.kind))
    texture = (int(rng.integers(3)), int(rng.integers(3, 9)), int(rng.integers(0, 4)),
               *[int(v) for v in rng.integers(40, 120, 3)], int(rng.integers(0, 2**31)))
    return Clip(vid, split, t, fps, s, tuple(tracks), tuple(events), texture)  # type: ignore[arg-type]


def _push(rng: np.random.Generator, a: _Plan, b: _Plan, ia: int, t: int, speed: float) -> bool:
    """A moves towards B, stops on contact and B moves on in the same direction (a collision)."""
    for p in (a, b):
        p.appear, p.fade_in, p.leave, p.fade_out = 0, 0, t, 0  # both visible throughout the push
    la, lb = int(rng.integers(max(2, t // 10), t // 4 + 1)), int(rng.integers(max(2, t // 10), t // 4 + 1))
    f0 = int(rng.integers(0, t - la - lb))
    d = str(rng.choice(list(DIRECTIONS)))
    a.moves.append((f0, f0 + la, d, speed, None))
    b.moves.append((f0 + la, f0 + la + lb, d, speed, ia))
    a.busy.append((f0, f0 + la))
    b.busy.append((f0 + la, f0 + la + lb))
    a.pusher = True
    return True


def _anomaly(rng: np.random.Generator, plans: list[_Plan], t: int) -> None:
    """One object jumps, blinks, grows or shrinks at a moment when nothing else happens to it."""
    kind = ANOMALIES[int(rng.integers(len(ANOMALIES)))]
    length = 1 if kind != "blink" else int(rng.integers(2, max(3, t // 8) + 1))
    for k in rng.permutation(len(plans)):
        a = _slot(rng, plans[k], length, t - 2)
        if a is not None and a > 1:
            plans[k].anomaly = (a, a + length, kind)
            plans[k].busy.append((a, a + length))
            return


def _offsets(moves: list, t: int) -> np.ndarray:
    off = np.zeros((t, 2))
    for f0, f1, d, v, _ in moves:
        dx, dy = DIRECTIONS[d]
        steps = np.clip(np.arange(t) - f0, 0, f1 - f0) * v
        off[:, 0] += dx * steps
        off[:, 1] += dy * steps
    return off


def _range(off: np.ndarray, half: float, s: int) -> tuple[np.ndarray, np.ndarray]:
    """Lowest and highest start (x, y) that keep the object (half extent ``half``) inside the frame."""
    return half + 1 - off.min(axis=0), s - half - 1 - off.max(axis=0)


def _place(rng: np.random.Generator, plans: list[_Plan], t: int, s: int) -> Optional[list[Track]]:
    """Start positions (pushers placed against what they push), anomalies applied, per-frame arrays built."""
    offs = [_offsets(p.moves, t) for p in plans]
    sizes = [np.full(t, float(p.size)) for p in plans]
    starts: list[Optional[np.ndarray]] = [None] * len(plans)
    order = sorted(range(len(plans)), key=lambda i: plans[i].pusher)  # pushers last
    for i, p in enumerate(plans):
        if p.anomaly and p.anomaly[2] in ("grow", "shrink"):
            sizes[i][p.anomaly[0] + 1:] = round(p.size * (1.4 if p.anomaly[2] == "grow" else 0.65))
    ranges = [_range(offs[i], sizes[i].max() / 2, s) for i in range(len(plans))]
    if any(np.any(lo > hi) for lo, hi in ranges):
        return None
    for i in order:
        p, (lo, hi) = plans[i], ranges[i]
        pusher = next((k for k, q in enumerate(plans) if p.moves and p.moves[0][4] == k), None)
        if pusher is not None:  # the pushed object: where its pusher can also start inside the frame
            shift = _push_shift(rng, plans[pusher], p)
            lo, hi = np.maximum(lo, ranges[pusher][0] - shift), np.minimum(hi, ranges[pusher][1] - shift)
            if np.any(lo > hi):
                return None
            starts[pusher] = shift  # the pusher's start relative to this one's, resolved below
        if not p.pusher:
            starts[i] = lo + rng.random(2) * (hi - lo)
    for i in order:
        if plans[i].pusher:
            j = next(k for k, q in enumerate(plans) if q.moves and q.moves[0][4] == i)
            starts[i] = starts[j] + starts[i]  # type: ignore[operator]
    for i, p in enumerate(plans):
        if p.anomaly and p.anomaly[2] == "jump":
            lo, hi = _range(offs[i], p.size / 2, s)
            for _ in range(20):
                target = lo + rng.random(2) * (hi - lo)
                if np.linalg.norm(target - starts[i]) >= 1.5 * p.size:  # type: ignore[operator]
                    offs[i][p.anomaly[0] + 1:] += target - starts[i]
                    break
            else:
                return None
    return [_arrays(p, starts[i] + offs[i], sizes[i], t) for i, p in enumerate(plans)]  # type: ignore[operator]


def _push_shift(rng: np.random.Generator, a: _Plan, b: _Plan) -> np.ndarray:
    """Pusher's start minus the pushed object's start: touching at contact, slightly off-axis."""
    f0, f1, d, v, _ = a.moves[0]
    dx, dy = DIRECTIONS[d]
    gap = (a.size + b.size) / 2 + 1
    perp = np.array([dy != 0, dx != 0]) * rng.uniform(-0.2, 0.2) * min(a.size, b.size)
    return perp - np.array([dx, dy]) * (gap + v * (f1 - f0))


def _arrays(p: _Plan, pos: np.ndarray, size: np.ndarray, t: int) -> Track:
    f = np.arange(t)
    alpha = np.ones(t)
    alpha[f < p.appear] = 0.0
    if p.fade_in:
        k = (f >= p.appear) & (f < p.appear + p.fade_in)
        alpha[k] = (f[k] - p.appear + 1) / (p.fade_in + 1)
    alpha[f >= p.leave] = 0.0
    if p.fade_out:
        k = (f >= p.leave - p.fade_out) & (f < p.leave)
        alpha[k] = (p.leave - f[k]) / (p.fade_out + 1)
    if p.anomaly and p.anomaly[2] == "blink":
        alpha[p.anomaly[0]:p.anomaly[1]] = 0.0
    rgb = np.tile(np.asarray(COLOURS[p.colour], float), (t, 1))
    names = [p.colour] * t
    if p.recolour:
        c0, c1, new = p.recolour
        w = np.clip((f - c0) / (c1 - c0), 0.0, 1.0)[:, None]
        rgb = (1 - w) * rgb + w * np.asarray(COLOURS[new], float)
        names = [p.colour if k < c1 else new for k in range(t)]
    return Track(p.shape, p.colour, pos[:, 0].copy(), pos[:, 1].copy(), size, alpha, rgb, tuple(names))


def _events(plans: list[_Plan]) -> list[Event]:
    out = []
    for i, p in enumerate(plans):
        if p.fade_in:
            out.append(Event("appear", i, p.appear, p.appear + p.fade_in))
        if p.fade_out:
            out.append(Event("disappear", i, p.leave - p.fade_out, p.leave))
        out += [Event("move", i, f0, f1, d, cause) for f0, f1, d, _, cause in p.moves]
        if p.recolour:
            out.append(Event("recolour", i, p.recolour[0], p.recolour[1], p.recolour[2]))
        if p.anomaly:
            out.append(Event("anomaly", i, p.anomaly[0], p.anomaly[1], p.anomaly[2]))
    return out
