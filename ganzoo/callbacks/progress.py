"""A progress display that counts generator steps and shows how the game between D and G stands."""
from __future__ import annotations

import math
import sys
import time
from importlib.util import find_spec
from typing import Any, Mapping, Optional, TextIO

from lightning.pytorch import LightningModule, Trainer
from lightning.pytorch.callbacks import ProgressBar

from ganzoo.callbacks.steps import MaxGeneratorSteps
from ganzoo.errors import check_number, choose_from

#: how a :class:`GANProgressBar` draws: ``auto`` picks by the terminal and what is installed.
STYLES = ("auto", "rich", "tqdm", "lines")
#: seconds between two redraws of a bar on a terminal: often enough to look live, rare enough to cost nothing.
_REDRAW_SECONDS = 0.25


class GANProgressBar(ProgressBar):
    """Lightning's progress bar in generator steps: done of the total, rate, ETA, and D's and G's state.

    Shows ``pl_module.g_steps`` of the run's total: ``max_g_steps`` (the
    :class:`~ganzoo.callbacks.MaxGeneratorSteps` callback) where it is set, else the epoch
    budget (``max_epochs`` x batches per epoch / ``n_critic``), else ``trainer.max_steps``
    in generator steps; a run bounded by none shows ``200/?``. Beside it: G steps per
    second and the time left, then the latest logged ``train/d_loss`` and ``train/g_loss``,
    and D's verdicts: D(x) and D(G(z)) for the BCE losses (probabilities), D's accuracy on
    real and generated samples where the loss has a decision level (hinge, lsgan), D's raw
    scores otherwise (``wgan_gp``). The values are those Lightning last logged, every
    ``log_every_n_steps`` batches.

    On a terminal it draws a bar with rich (tqdm where rich is not installed), in place, one
    bar for the whole run; validation shows as ``validating``. Where stdout is not a
    terminal (CI, ``nohup``, a pipe) it writes a plain line every ``refresh_seconds``
    instead, and one at the end of training. ``ganzoo fit`` adds one unless the config
    sets ``trainer.enable_progress_bar: false`` or names a progress bar of its own; in
    Python, pass it to the Trainer: ``Trainer(callbacks=[GANProgressBar()])``. Under DDP
    only rank 0 shows it.

    Args:
        refresh_seconds: seconds between two plain lines where stdout is not a terminal;
            0 writes a line after every batch.
        style: ``"auto"`` (a bar on a terminal, rich where installed, else tqdm; plain
            lines elsewhere), or force one: ``"rich"``, ``"tqdm"``, ``"lines"``.
    """

    def __init__(self, refresh_seconds: float = 10.0, style: str = "auto"):
        super().__init__()
        self.refresh_seconds = check_number(
            "GANProgressBar refresh_seconds", refresh_seconds, "refresh_seconds: 10 (seconds between lines)", low=0
        )
        if style not in STYLES:
            raise choose_from("GANProgressBar style", style, STYLES)
        self.style = style
        self._enabled = True
        self._display: Optional[_Display] = None
        self._phase = "training"
        self._total: Optional[int] = None
        self._start: Optional[tuple[float, int]] = None  # (time.monotonic(), g_steps) when training started
        self._next_draw = 0.0
        self._eval_batches = 0

    # ------------------------------------------------------------ Lightning's ProgressBar API
    def disable(self) -> None:
        self._enabled = False

    def enable(self) -> None:
        self._enabled = True

    def print(self, *args: Any, **kwargs: Any) -> None:
        """Prints above the bar (``trainer.print``) without breaking it."""
        if self._display is not None:
            self._display.print(" ".join(str(arg) for arg in args))
        else:
            print(*args, **kwargs)

    # ------------------------------------------------------------------------- training
    def on_sanity_check_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self._show(trainer, pl_module, "sanity check")

    def on_sanity_check_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self._show(trainer, pl_module, "training")

    def on_train_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self._total = total_g_steps(trainer, pl_module)
        self._start = (time.monotonic(), _g_steps(trainer, pl_module))
        self._show(trainer, pl_module, "training")

    def on_train_batch_end(self, trainer: Trainer, pl_module: LightningModule, *args: Any) -> None:
        if self._display is not None and time.monotonic() >= self._next_draw:
            self._draw(trainer, pl_module)

    def on_validation_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if trainer.state.fn == "fit":
            self._show(trainer, pl_module, "sanity check" if trainer.sanity_checking else "validating")
        else:
            self._open_eval(trainer, "validating")

    def on_validation_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if trainer.state.fn == "fit":
            self._show(trainer, pl_module, "sanity check" if trainer.sanity_checking else "training")
        else:
            self._close()

    def on_train_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if self._display is not None:
            self._phase = "trained"
            self._draw(trainer, pl_module)
        self._close()

    def on_exception(self, trainer: Trainer, pl_module: LightningModule, exception: BaseException) -> None:
        self._close()

    def teardown(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        self._close()

    # ------------------------------------------------- validate, test and predict on their own
    def on_test_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self._open_eval(trainer, "testing")

    def on_predict_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self._open_eval(trainer, "predicting")

    def on_test_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self._close()

    def on_predict_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self._close()

    def on_validation_batch_end(self, trainer: Trainer, *args: Any) -> None:
        if trainer.state.fn != "fit":
            self._eval_step()

    def on_test_batch_end(self, *args: Any) -> None:
        self._eval_step()

    def on_predict_batch_end(self, *args: Any) -> None:
        self._eval_step()

    # --------------------------------------------------------------------------- drawing
    def _show(self, trainer: Trainer, pl_module: LightningModule, phase: str) -> None:
        """Switches to ``phase`` (training, validating, ...); a bar shows it at once, plain lines at their next line."""
        self._phase = phase
        if self._display is None and self._enabled:
            self._display = _open_display(self.style)
        if self._display is not None and self._display.live:
            self._draw(trainer, pl_module)

    def _draw(self, trainer: Trainer, pl_module: LightningModule) -> None:
        done = _g_steps(trainer, pl_module)
        game = game_text(trainer.callback_metrics, _probabilistic(pl_module), trainer.progress_bar_metrics)
        self._display.show(self._phase, done, self._total, "G steps", self._pace(done), game)
        self._next_draw = time.monotonic() + (_REDRAW_SECONDS if self._display.live else self.refresh_seconds)

    def _pace(self, done: int) -> str:
        """Rate, time spent and time left since training started (a resumed run: since it resumed)."""
        if self._start is None:
            return ""
        started, done_at_start = self._start
        elapsed = time.monotonic() - started
        rate = (done - done_at_start) / elapsed if done > done_at_start and elapsed > 0 else None
        left = (self._total - done) / rate if rate and self._total is not None else None
        return (
            f"{f'{rate:.1f}' if rate else '-'} G steps/s, {_clock(elapsed)} elapsed, "
            f"ETA {_clock(left) if left is not None else '?'}"
        )

    def _open_eval(self, trainer: Trainer, phase: str) -> None:
        """A batch count for ``ganzoo validate/test/predict``, which train nothing; plain lines stay silent."""
        if not self._enabled or self._display is not None:
            return
        display = _open_display(self.style)
        if display.live:
            self._display, self._phase, self._eval_batches = display, phase, 0
            batches = {"validating": trainer.num_val_batches, "testing": trainer.num_test_batches}.get(
                phase, trainer.num_predict_batches
            )
            total = sum(batches) if isinstance(batches, list) else batches
            self._total, self._next_draw = (int(total) if math.isfinite(total) else None), 0.0
            self._eval_step(count=False)

    def _eval_step(self, count: bool = True) -> None:
        if self._display is None:
            return
        self._eval_batches += int(count)
        if time.monotonic() >= self._next_draw or self._eval_batches == self._total:
            self._display.show(self._phase, self._eval_batches, self._total, "batches", "", "")
            self._next_draw = time.monotonic() + _REDRAW_SECONDS

    def _close(self) -> None:
        if self._display is not None:
            self._display.close()
            self._display = None


def total_g_steps(trainer: Trainer, pl_module: LightningModule) -> Optional[int]:
    """The generator step at which this fit ends, by the tightest of its budgets; ``None`` when none bounds it.

    Budgets: ``max_g_steps`` (:class:`MaxGeneratorSteps`), the epochs (``max_epochs`` x
    batches per epoch, one G step per ``n_critic`` batches) and ``trainer.max_steps`` (which
    counts G's and D's optimizer steps together: :meth:`~ganzoo.GANModule.g_steps_at_optimizer_steps`).
    """
    max_g_steps = [callback.max_steps for callback in trainer.callbacks if isinstance(callback, MaxGeneratorSteps)]
    bounds, batches = list(max_g_steps), trainer.num_training_batches
    if trainer.max_epochs not in (None, -1) and math.isfinite(batches):
        bounds.append(trainer.max_epochs * int(batches) // getattr(pl_module, "n_critic", 1))
    if not max_g_steps and trainer.max_steps not in (None, -1):  # MaxGeneratorSteps sets max_steps from its budget
        in_g_steps = getattr(pl_module, "g_steps_at_optimizer_steps", None)  # a GANModule's; else steps are steps
        bounds.append(in_g_steps(trainer.max_steps) if in_g_steps else trainer.max_steps)
    return min(bounds) if bounds else None


def game_text(metrics: Mapping[str, Any], probabilistic: bool, extra: Optional[Mapping[str, Any]] = None) -> str:
    """The latest losses and D's verdicts as one line: ``D loss 1.316  G loss 0.934  D(x) 0.571  D(G(z)) 0.451``.

    Args:
        metrics: ``trainer.callback_metrics`` (``train/d_loss``, ``train/g_loss``,
            ``train/d_real``, ``train/d_fake``, ``train/d_acc_real``, ``train/d_acc_fake``).
        probabilistic: D's outputs (``train/d_real``, ``train/d_fake``) are probabilities.
        extra: values logged with ``prog_bar=True`` (``trainer.progress_bar_metrics``), shown after.
    """
    if probabilistic:
        verdicts = (("train/d_real", "D(x)"), ("train/d_fake", "D(G(z))"))
    elif "train/d_acc_real" in metrics:
        verdicts = (("train/d_acc_real", "D acc real"), ("train/d_acc_fake", "D acc fake"))
    else:  # a critic: unbounded scores with no decision level
        verdicts = (("train/d_real", "D score real"), ("train/d_fake", "D score fake"))
    keys = (("train/d_loss", "D loss"), ("train/g_loss", "G loss"), *verdicts)
    shown = [(label, metrics.get(key)) for key, label in keys]
    shown += [(key, value) for key, value in (extra or {}).items() if key not in dict(keys)]
    return "  ".join(f"{label} {_number(value)}" for label, value in shown if value is not None)


def _number(value: Any) -> str:
    value = float(value)  # a 0-d tensor from callback_metrics; read at redraws only, so the sync is rare
    return f"{value:.3f}" if 1e-3 <= abs(value) < 1e4 or value == 0 else f"{value:.3g}"  # a learning rate: 0.0002


def _clock(seconds: float) -> str:
    """``seconds`` as ``h:mm:ss``."""
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def _g_steps(trainer: Trainer, pl_module: LightningModule) -> int:
    """Generator steps so far; optimizer steps for a module that is no GANModule."""
    return int(getattr(pl_module, "g_steps", trainer.global_step))


def _probabilistic(pl_module: LightningModule) -> bool:
    """Whether the module's loss makes D's outputs probabilities (the BCE losses)."""
    return bool(getattr(getattr(pl_module, "loss_fn", None), "probabilistic", False))


# ------------------------------------------------------------------------------- displays
class _Display:
    """Where a GANProgressBar draws; ``live`` displays redraw in place, the others write lines."""

    live = True

    def show(self, phase: str, done: int, total: Optional[int], unit: str, pace: str, game: str) -> None:
        raise NotImplementedError

    def print(self, text: str) -> None:
        raise NotImplementedError

    def close(self) -> None:
        pass


def _open_display(style: str, stream: Optional[TextIO] = None) -> _Display:
    """The display ``style`` asks for, drawing on ``stream`` (stdout)."""
    stream = sys.stdout if stream is None else stream
    if style == "auto":
        terminal = getattr(stream, "isatty", lambda: False)()
        style = "lines" if not terminal else "rich" if find_spec("rich") else "tqdm"
    return {"rich": _RichDisplay, "tqdm": _TqdmDisplay, "lines": _LineDisplay}[style](stream)


class _LineDisplay(_Display):
    """A plain line per call: ``training 200/3000 G steps (7%), 45.1 G steps/s, ... | D loss 1.316 ...``."""

    live = False

    def __init__(self, stream: TextIO):
        self._stream = stream

    def show(self, phase, done, total, unit, pace, game) -> None:
        share = f" ({100 * done // total}%)" if total else ""
        line = ", ".join(part for part in (f"{phase} {done}/{total if total is not None else '?'} {unit}{share}", pace) if part)
        self.print(f"{line} | {game}" if game else line)

    def print(self, text: str) -> None:
        print(text, file=self._stream, flush=True)


class _TqdmDisplay(_Display):
    """One tqdm bar: ``training |#####     | 200/3000 G steps, 45.1 G steps/s, ..., D loss 1.316 ...``."""

    def __init__(self, stream: TextIO):
        from tqdm import tqdm

        self._bar = tqdm(file=stream, dynamic_ncols=True, bar_format="{desc} |{bar:24}| {n_fmt}/{total_fmt} {unit}{postfix}")

    def show(self, phase, done, total, unit, pace, game) -> None:
        self._bar.total, self._bar.n, self._bar.unit = total, done, unit
        self._bar.set_description_str(phase, refresh=False)
        self._bar.set_postfix_str(", ".join(part for part in (pace, game) if part), refresh=False)
        self._bar.refresh()

    def print(self, text: str) -> None:
        self._bar.write(text)

    def close(self) -> None:
        self._bar.close()


class _RichDisplay(_Display):
    """A rich bar with the losses on a second line; a thread redraws it four times a second while it is open."""

    def __init__(self, stream: TextIO):
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn
        from rich.text import Text

        class GameProgress(Progress):  # rich's documented way to add lines under the bars
            game = ""

            def get_renderables(self):
                yield from super().get_renderables()
                if self.game:
                    yield Text(self.game)

        columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[count]}"),
                   TextColumn("{task.fields[pace]}"))  # fmt: skip
        self._progress = GameProgress(*columns, console=Console(file=stream), refresh_per_second=4)
        self._task = self._progress.add_task("", total=None, count="", pace="")
        self._progress.start()

    def show(self, phase, done, total, unit, pace, game) -> None:
        count = f"{done}/{total if total is not None else '?'} {unit}"
        self._progress.game = game
        # redrawn now, not at the next tick: rich repaints a stale frame when something prints meanwhile
        pace = f"• {pace}" if pace else ""
        self._progress.update(self._task, description=phase, completed=done, total=total, count=count, pace=pace,
                              refresh=True)  # fmt: skip

    def print(self, text: str) -> None:
        self._progress.console.print(text, markup=False, highlight=False)

    def close(self) -> None:
        self._progress.stop()
