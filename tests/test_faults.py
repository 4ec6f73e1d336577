"""Faults lose nothing: kills and errors during a checkpoint write, a full disk, SIGTERM, runs sharing a
directory, a callback failing at the end of training, and non-finite losses or weights."""
import errno
import multiprocessing
import os
import re
import signal
import stat
import subprocess
import sys
from pathlib import Path

import lightning.pytorch as pl
import pytest
import torch
from lightning.pytorch.plugins.io import TorchCheckpointIO

from ganzoo import ConfigError, DistributionMonitor, Gaussian1D, GANCheckpoint, MaxGeneratorSteps, VanillaGAN
from ganzoo.checkpoint_io import PARTIAL_SUFFIX, AtomicCheckpointIO, write_atomically
from ganzoo.errors import NonFiniteLossError
from ganzoo.cli import SIGTERM_EXIT_CODE, main
from ganzoo.loggers import RUN_MARKER, claim_directory
from helpers import ROOT, g_steps_in

# A run of a few seconds through the real CLI: checkpoints at every 2nd batch's validation and at the end.
TINY_RUN = """
seed_everything: 0
max_g_steps: 6
trainer:
  accelerator: cpu
  devices: 1
  logger: false
  enable_progress_bar: false
  enable_model_summary: false
  limit_val_batches: 1
  val_check_interval: 2
  check_val_every_n_epoch: null
  callbacks:
    - class_path: ganzoo.GANCheckpoint
model:
  class_path: ganzoo.VanillaGAN
  init_args: {latent_dim: 4, g_hidden_dims: [8], d_hidden_dims: [8]}
data:
  class_path: ganzoo.Gaussian1D
  init_args: {batch_size: 32, num_train: 256, num_val: 64}
"""


@pytest.fixture
def tiny_config(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY_RUN)
    return path


def errors(capsys) -> list[str]:
    return [line for line in capsys.readouterr().err.splitlines() if line.startswith("ganzoo: error:")]


def partial_files(directory) -> list[Path]:
    return list(Path(directory).rglob(f"*{PARTIAL_SUFFIX}"))


# ------------------------------------------------------------------ atomic writes
KILLED_WRITER = """
import os, sys, time, torch
from ganzoo.checkpoint_io import AtomicCheckpointIO, write_atomically
target = sys.argv[1]
AtomicCheckpointIO().save_checkpoint({"step": 1, "w": torch.zeros(4)}, target)
def write_half_then_hang(file):
    file.write(b"x" * 4_000_000)
    file.flush()
    print("half", flush=True)
    time.sleep(60)
write_atomically(target, write_half_then_hang)
"""


@pytest.mark.slow
@pytest.mark.parametrize("tmpdir", ["same filesystem", "/dev/shm"])
def test_kill_9_mid_write_leaves_the_previous_checkpoint_and_the_next_save_removes_the_orphan(tmpdir, tmp_path):
    """A SIGKILL while the new checkpoint is half written: the old one is intact, loadable, and the only target.

    ``$TMPDIR`` on another filesystem made Lightning's own save truncate the target first; the
    temporary file now lies beside the target, so ``$TMPDIR`` plays no part.
    """
    if tmpdir == "/dev/shm" and not os.path.isdir(tmpdir):
        pytest.skip("no /dev/shm here")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TMPDIR": tmpdir if tmpdir.startswith("/") else str(tmp_path)}
    target = tmp_path / "checkpoints" / "last.ckpt"
    writer = subprocess.Popen([sys.executable, "-c", KILLED_WRITER, str(target)], env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout.readline().strip() == "half"
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait(timeout=60)
    assert writer.returncode == -signal.SIGKILL
    assert torch.load(target, weights_only=True)["step"] == 1  # the previous checkpoint, whole
    [orphan] = partial_files(target.parent)
    assert orphan.stat().st_size == 4_000_000 and orphan.name.startswith(".last.ckpt.")

    AtomicCheckpointIO().save_checkpoint({"step": 2}, target)
    assert torch.load(target, weights_only=True)["step"] == 2 and not partial_files(tmp_path)


@pytest.mark.parametrize(
    "error, raised",
    [
        (OSError(errno.ENOSPC, "No space left on device"), "no space left on device"),
        (OSError(errno.EIO, "Input/output error"), "Input/output error"),
        (KeyboardInterrupt(), ""),
    ],
    ids=["disk-full", "io-error", "ctrl-c"],
)
def test_an_error_mid_write_removes_the_temp_file_and_keeps_the_previous_checkpoint(error, raised, tmp_path):
    target = tmp_path / "last.ckpt"
    AtomicCheckpointIO().save_checkpoint({"step": 1}, target)
    before = target.read_bytes()

    def write_half_then_fail(file):
        file.write(b"x" * 1000)
        raise error

    with pytest.raises(type(error), match=raised or None) as info:
        write_atomically(target, write_half_then_fail)
    if isinstance(error, OSError) and error.errno == errno.ENOSPC:
        assert info.value.filename == str(target)  # the message can name what could not be written
    assert target.read_bytes() == before and not partial_files(tmp_path)


def test_the_target_only_ever_changes_by_a_rename_of_a_complete_synced_file(monkeypatch, tmp_path):
    import ganzoo.checkpoint_io as checkpoint_io

    target = tmp_path / "last.ckpt"
    AtomicCheckpointIO().save_checkpoint({"step": 1}, target)
    before, seen, synced = target.read_bytes(), [], []
    real_replace, real_fsync = os.replace, os.fsync

    def fsync(fd):
        synced.append(stat.S_ISREG(os.fstat(fd).st_mode))
        real_fsync(fd)

    def replace(source, destination):
        # at the rename, the target still holds the previous checkpoint and the new file is complete and synced
        seen.append((target.read_bytes() == before, torch.load(source, weights_only=True)["step"], list(synced)))
        real_replace(source, destination)

    monkeypatch.setattr(checkpoint_io.os, "replace", replace)
    monkeypatch.setattr(checkpoint_io.os, "fsync", fsync)
    AtomicCheckpointIO().save_checkpoint({"step": 2, "w": torch.ones(1000)}, target)
    assert seen == [(True, 2, [True])]
    assert synced == [True, False]  # the file, then its directory (the rename itself)
    assert torch.load(target, weights_only=True)["step"] == 2


class OwnCheckpointIO(TorchCheckpointIO):
    """A CheckpointIO of the user's: ganzoo must leave it in place."""


@pytest.mark.parametrize("plugins, expected", [([], AtomicCheckpointIO), ([OwnCheckpointIO()], OwnCheckpointIO)])
def test_every_ganzoo_run_saves_through_atomic_checkpoint_io_unless_the_user_chose_one(plugins, expected, trainer_kwargs):
    model = VanillaGAN(data_shape=[1], latent_dim=4, g_hidden_dims=[8], d_hidden_dims=[8])
    trainer = pl.Trainer(**trainer_kwargs, plugins=plugins, max_epochs=-1, limit_val_batches=0, callbacks=[MaxGeneratorSteps(1)])
    trainer.fit(model, Gaussian1D(batch_size=32, num_train=64))
    assert type(trainer.strategy.checkpoint_io) is expected


# ------------------------------------------------------------------ a full disk, SIGTERM
def test_a_full_disk_stops_the_run_with_one_line_and_leaves_whole_checkpoints(monkeypatch, tiny_config, tmp_path, capsys):
    import ganzoo.checkpoint_io as checkpoint_io

    real_fsync, file_syncs = os.fsync, []

    def fsync_fails_at_the_third_file(fd):  # as a full disk (or an NFS server) reports it
        if stat.S_ISREG(os.fstat(fd).st_mode):
            file_syncs.append(fd)
            if len(file_syncs) == 3:
                raise OSError(errno.ENOSPC, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(checkpoint_io.os, "fsync", fsync_fails_at_the_third_file)
    with pytest.raises(SystemExit) as info:
        main(["fit", "--config", str(tiny_config), f"--trainer.default_root_dir={tmp_path / 'run'}"])
    [line] = errors(capsys)
    assert info.value.code == 1
    assert line.startswith(f"ganzoo: error: no space left on device while writing {tmp_path / 'run' / 'checkpoints'}")
    assert line.endswith("free space or point --trainer.default_root_dir (or the logger's save_dir) elsewhere, then resume with --ckpt_path")
    checkpoints = sorted((tmp_path / "run" / "checkpoints").glob("*.ckpt"))
    assert checkpoints and not partial_files(tmp_path)
    assert {g_steps_in(path) for path in checkpoints} == {2}  # those of the first validation (2 batches), whole


@pytest.mark.slow
def test_sigterm_saves_last_ckpt_and_exits_143(tiny_config, tmp_path):
    """The process of ``ganzoo fit`` itself, as a scheduler sees it: a preempted run is not a finished one."""
    path = [ROOT, ROOT / "tests", ROOT / "tests" / "modules"]  # ganzoo, the helpers, test_precision.SigtermAt
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(map(str, path)), "WANDB_MODE": "offline"}
    args = ["fit", "--config", str(tiny_config), "--max_g_steps=20", f"--trainer.default_root_dir={tmp_path / 'run'}",
            "--trainer.callbacks+=test_precision.SigtermAt", "--trainer.callbacks.g_step=3"]  # fmt: skip
    result = subprocess.run([sys.executable, "-m", "ganzoo", *args], env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == SIGTERM_EXIT_CODE == 143, result.stderr[-2000:]
    last = tmp_path / "run" / "checkpoints" / "last.ckpt"
    assert g_steps_in(last) == 3 and f"resume with --ckpt_path {last}" in result.stdout + result.stderr
    assert "Traceback" not in result.stderr


# ------------------------------------------------------------------ run directories
def fit_in(tiny_config, directory, *extra):
    main(["fit", "--config", str(tiny_config), f"--trainer.default_root_dir={directory}", *extra])


def test_a_second_run_in_a_used_directory_is_refused_with_one_line_and_a_resume_continues(tiny_config, tmp_path, capsys):
    run = tmp_path / "run"
    fit_in(tiny_config, run)
    config, last = (run / "config.yaml").read_text(), (run / "checkpoints" / "last.ckpt").read_bytes()
    with pytest.raises(SystemExit) as info:
        fit_in(tiny_config, run, "--seed_everything=1")
    [line] = errors(capsys)
    assert info.value.code == 2 and line.startswith(f"ganzoo: error: '{run}' belongs to another run (pid {os.getpid()} on ")
    assert line.endswith(f"or continue that run with --ckpt_path {run / 'checkpoints' / 'last.ckpt'}")
    assert (run / "config.yaml").read_text() == config and (run / "checkpoints" / "last.ckpt").read_bytes() == last

    fit_in(tiny_config, run, "--max_g_steps=8", f"--ckpt_path={run / 'checkpoints' / 'last.ckpt'}")
    assert g_steps_in(run / "checkpoints" / "last.ckpt") == 8 and "max_g_steps: 8" in (run / "config.yaml").read_text()


def test_a_run_that_stops_before_its_first_update_leaves_the_directory_free(tiny_config, tmp_path):
    run = tmp_path / "run"
    with pytest.raises(RuntimeError, match="callback failed in on_train_start"):
        fit_in(tiny_config, run, "--trainer.callbacks+=test_faults.FailsIn", "--trainer.callbacks.hook=on_train_start")
    assert not (run / RUN_MARKER).exists() and not (run / "config.yaml").exists()
    assert not (run / "checkpoints" / RUN_MARKER).exists()
    fit_in(tiny_config, run)  # the fixed configuration runs in the same place
    assert g_steps_in(run / "checkpoints" / "last.ckpt") == 6


def test_csv_logger_runs_in_one_save_dir_each_get_their_own_version(tiny_config, tmp_path):
    logger = ["--trainer.logger=lightning.pytorch.loggers.CSVLogger", f"--trainer.logger.save_dir={tmp_path / 'runs'}"]
    fit_in(tiny_config, tmp_path, *logger)
    fit_in(tiny_config, tmp_path, *logger)
    versions = sorted((tmp_path / "runs" / "lightning_logs").glob("version_*"))
    assert [v.name for v in versions] == ["version_0", "version_1"]
    assert all((v / "config.yaml").exists() and (v / "checkpoints" / "last.ckpt").exists() for v in versions)


@pytest.mark.parametrize(
    "files, resume_from, refused",
    [
        ([], None, ""),
        ([RUN_MARKER], None, "belongs to another run"),
        (["config.yaml"], None, "holds files of an earlier run (config.yaml)"),
        ([RUN_MARKER], "checkpoints/last.ckpt", ""),  # a resumed run continues in its own directory
        ([RUN_MARKER], "last", ""),  # Lightning's name for the directory's own last checkpoint
        ([RUN_MARKER], "../elsewhere/last.ckpt", "belongs to another run"),
        (["hpc_ckpt_1.ckpt"], None, ""),  # a requeued SLURM job: Lightning resumes from it by itself
        (["checkpoints/" + RUN_MARKER], "hpc_ckpt_1.ckpt", ""),  # ... and continues in its checkpoint directory
        (["checkpoints/" + RUN_MARKER], "other.ckpt", "belongs to another run"),
    ],
)
def test_claim_directory(files, resume_from, refused, tmp_path):
    root = tmp_path / "run"
    (root / "checkpoints").mkdir(parents=True)
    for name in files:
        (root / name).write_text("{}")
    directory = root / "checkpoints" if any(name.startswith("checkpoints/") for name in files) else root
    resume = root / resume_from if resume_from and resume_from.endswith(".ckpt") else resume_from
    if refused:
        with pytest.raises(ConfigError, match=re.escape(refused)):
            claim_directory(directory, resume, used_if=("config.yaml",), fix="pick another")
    else:
        claim_directory(directory, resume, used_if=("config.yaml",), fix="pick another")
        assert f'"pid": {os.getpid()}' in (directory / RUN_MARKER).read_text()


def _claim(directory, barrier, results):
    barrier.wait()
    try:
        claim_directory(directory, fix="pick another")
        results.put("claimed")
    except ConfigError as err:
        results.put(str(err))


def test_of_runs_starting_at_once_in_one_directory_exactly_one_gets_it(tmp_path):
    context = multiprocessing.get_context("fork")
    barrier, results = context.Barrier(6), context.Queue()
    processes = [context.Process(target=_claim, args=(tmp_path / "run", barrier, results)) for _ in range(6)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=60)
    outcomes = sorted(results.get(timeout=10) for _ in processes)
    assert outcomes[-1] == "claimed" and outcomes.count("claimed") == 1
    assert all("belongs to another run" in outcome for outcome in outcomes[:-1])


@pytest.mark.slow
def test_two_cli_runs_started_together_in_one_directory(tiny_config, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "WANDB_MODE": "offline"}
    args = [sys.executable, "-m", "ganzoo", "fit", "--config", str(tiny_config), f"--trainer.default_root_dir={tmp_path / 'run'}"]
    runs = [subprocess.Popen([*args, f"--seed_everything={seed}"], env=env, stderr=subprocess.PIPE, text=True) for seed in (1, 2)]
    outcomes = sorted((run.wait(timeout=300), run.stderr.read()) for run in runs)
    assert [code for code, _ in outcomes] == [0, 2]
    refusal = [line for line in outcomes[1][1].splitlines() if line.startswith("ganzoo: error:")]
    assert len(refusal) == 1 and "belongs to another run" in refusal[0]
    seed = int(next(line for line in (tmp_path / "run" / "config.yaml").read_text().splitlines() if "seed_everything" in line).split()[-1])
    winner_marker = (tmp_path / "run" / RUN_MARKER).read_text()
    assert str(runs[seed - 1].pid) in winner_marker  # config and checkpoints are the run's that holds the directory


# ------------------------------------------------------------------ errors at the end of training
class FailsIn(pl.Callback):
    """Raises in one hook, as DistributionMonitor did on an empty array."""

    def __init__(self, hook):
        self.hook = hook
        setattr(self, hook, self.fail)

    def fail(self, *args, **kwargs):
        raise RuntimeError(f"callback failed in {self.hook}")


@pytest.mark.parametrize(
    "hook, last_g_steps",
    [("on_train_end", 6), ("on_validation_epoch_end", 2), ("on_train_epoch_end", 4), ("on_train_batch_start", None)],
)
def test_a_callback_failing_between_batches_does_not_prevent_last_ckpt(hook, last_g_steps, trainer_kwargs, tmp_path):
    """Between batches the weights are whole: ``last.ckpt`` is written before the error propagates.
    Inside a batch (here: before its step) nothing is saved, as the step may be half done."""
    pl.seed_everything(0)
    model = VanillaGAN(data_shape=[1], latent_dim=4, g_hidden_dims=[8], d_hidden_dims=[8])
    trainer = pl.Trainer(**{**trainer_kwargs, "enable_checkpointing": True}, max_epochs=-1, limit_val_batches=1,
                         val_check_interval=2, check_val_every_n_epoch=None, num_sanity_val_steps=0,
                         callbacks=[FailsIn(hook), MaxGeneratorSteps(6), GANCheckpoint(dirpath=tmp_path / "ckpt")])  # fmt: skip
    with pytest.raises(RuntimeError, match=f"callback failed in {hook}"):
        trainer.fit(model, Gaussian1D(batch_size=32, num_train=128))  # 4 batches per epoch
    last = tmp_path / "ckpt" / "last.ckpt"
    assert (g_steps_in(last) if last.exists() else None) == last_g_steps


def test_distribution_monitor_skips_nonfinite_samples_and_draws_huge_ones(trainer_kwargs, tmp_path):
    pl.seed_everything(0)
    model = VanillaGAN(data_shape=[1], latent_dim=4, g_hidden_dims=[8], d_hidden_dims=[8])
    monitor = DistributionMonitor(num_samples=256, verbose=False)
    trainer = pl.Trainer(**trainer_kwargs, max_epochs=-1, limit_val_batches=0, callbacks=[MaxGeneratorSteps(2), monitor])
    trainer.fit(model, Gaussian1D(batch_size=32, num_train=128, num_val=256))
    assert monitor.final_figure.exists()
    last_layer = [m for m in model.generator.modules() if isinstance(m, torch.nn.Linear)][-1]
    for bias, drawn in [(1e30, True), (float("nan"), False)]:  # lr 1e3 ends at about 1e2..1e30; inf lr at NaN
        with torch.no_grad():
            last_layer.bias.fill_(bias)
        if drawn:
            monitor.on_train_end(trainer, model)
        else:
            with pytest.warns(UserWarning, match="256 of 256 generated values are NaN or infinite after 2 generator steps"):
                monitor.on_train_end(trainer, model)
        assert (monitor.final_figure is not None) == drawn
    assert '"figure": null' in (tmp_path / "final_metrics.json").read_text()


def test_a_figure_that_meets_a_full_disk_is_removed_and_named(monkeypatch, trainer_kwargs, tmp_path):
    from matplotlib.figure import Figure

    def savefig_half_then_full(self, path, **kwargs):
        Path(path).write_bytes(b"\x89PNG half")
        raise OSError(errno.ENOSPC, "No space left on device")

    pl.seed_everything(0)
    model = VanillaGAN(data_shape=[1], latent_dim=4, g_hidden_dims=[8], d_hidden_dims=[8])
    monitor = DistributionMonitor(num_samples=64, verbose=False)
    trainer = pl.Trainer(**trainer_kwargs, max_epochs=-1, limit_val_batches=0, callbacks=[MaxGeneratorSteps(1)])
    trainer.fit(model, Gaussian1D(batch_size=32, num_train=64))
    monkeypatch.setattr(Figure, "savefig", savefig_half_then_full)
    with pytest.raises(OSError) as info:
        monitor.plot(trainer, model, "distribution_final.png")
    assert info.value.errno == errno.ENOSPC and info.value.filename == str(tmp_path / "figures" / "distribution_final.png")
    assert not list((tmp_path / "figures").glob("*.png"))


# ------------------------------------------------------------------ non-finite losses and weights
class NaNDLoss(VanillaGAN):
    """D's loss is NaN at the updates ``nan_at`` says (by D's attempted update count)."""

    def __init__(self, nan_at, **kwargs):
        super().__init__(data_shape=[1], latent_dim=4, g_hidden_dims=[8], d_hidden_dims=[8], on_nonfinite_loss="skip", **kwargs)
        self.nan_at, self.attempts = nan_at, 0

    def discriminator_loss(self, real_logits, fake_logits):
        self.attempts += 1
        loss = super().discriminator_loss(real_logits, fake_logits)
        return loss * float("nan") if self.nan_at(self.attempts) else loss


@pytest.mark.parametrize(
    "nan_at, bound, stops",
    [(lambda k: True, 5, True), (lambda k: k % 2 == 0, 2, False), (lambda k: k % 3 != 0, 2, True)],
    ids=["always-nan", "every-other-update", "two-in-a-row"],
)
def test_skip_stops_after_a_bounded_number_of_consecutive_skips(nan_at, bound, stops, trainer_kwargs):
    pl.seed_everything(0)
    model = NaNDLoss(nan_at, max_consecutive_skips=bound)
    trainer = pl.Trainer(**trainer_kwargs, max_epochs=-1, limit_val_batches=0, callbacks=[MaxGeneratorSteps(12)])
    if not stops:
        trainer.fit(model, Gaussian1D(batch_size=32, num_train=256))
        assert model.g_steps == 12 and model.skipped_steps == 6 and model.consecutive_skips == {"G": 0, "D": 1}
        return
    with pytest.raises(NonFiniteLossError) as error:
        trainer.fit(model, Gaussian1D(batch_size=32, num_train=256))
    assert str(error.value).startswith(f"D loss was NaN or infinite at {bound} consecutive D updates, all skipped")
    assert str(error.value).endswith(f"or raise max_consecutive_skips ({bound})") and "\n" not in str(error.value)
    assert model.consecutive_skips["D"] == bound


def test_consecutive_skips_are_checkpointed_and_checked():
    model = NaNDLoss(lambda k: False)
    model.consecutive_skips["D"] = 3
    checkpoint = {"state_dict": model.state_dict()}
    model.on_save_checkpoint(checkpoint)
    restored = NaNDLoss(lambda k: False)
    restored.on_load_checkpoint(checkpoint)
    assert restored.consecutive_skips == {"G": 0, "D": 3}
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ConfigError, match=f"max_consecutive_skips must be a positive integer, got {bad!r}"):
            NaNDLoss(lambda k: False, max_consecutive_skips=bad)


@pytest.mark.parametrize("policy", ["raise", "skip", "ignore"])
def test_weights_made_nonfinite_by_a_finite_loss_stop_training_before_any_checkpoint_holds_them(policy, trainer_kwargs, tmp_path):
    pl.seed_everything(0)
    model = VanillaGAN(data_shape=[1], latent_dim=4, g_hidden_dims=[8], d_hidden_dims=[8], on_nonfinite_loss=policy,
                       g_optimizer=lambda params: torch.optim.SGD(params, lr=0.01),
                       g_scheduler=lambda opt: torch.optim.lr_scheduler.LambdaLR(opt, lambda k: 1.0 if k < 2 else float("inf")))  # fmt: skip
    saver = pl.callbacks.ModelCheckpoint(dirpath=tmp_path / "ckpt", every_n_train_steps=1, save_top_k=-1)
    trainer = pl.Trainer(**{**trainer_kwargs, "enable_checkpointing": True}, max_epochs=-1, limit_val_batches=0,
                         callbacks=[MaxGeneratorSteps(4), saver])  # fmt: skip
    if policy == "ignore":  # the documented opt-out: no check, and NaN weights reach the checkpoints
        trainer.fit(model, Gaussian1D(batch_size=32, num_train=256))
        assert not all(torch.isfinite(p).all() for p in model.generator.parameters())
        return
    with pytest.raises(NonFiniteLossError) as error:
        trainer.fit(model, Gaussian1D(batch_size=32, num_train=256))
    message = str(error.value)
    assert message.startswith("G's weights became NaN or infinite at generator step 3 (after 2 generator steps) although its loss")
    assert message.endswith("lower g_optimizer's learning rate or set gradient_clip_norm") and "\n" not in message
    checkpoints = list((tmp_path / "ckpt").glob("*.ckpt"))
    assert checkpoints  # written before the weights went bad, and every one of them holds finite weights
    for path in checkpoints:
        weights = torch.load(path, weights_only=True)["state_dict"]
        assert all(torch.isfinite(value).all() for value in weights.values()), path


def test_the_weight_check_passes_huge_finite_weights_and_stops_at_one_nan():
    model = VanillaGAN(data_shape=[1], latent_dim=4, g_hidden_dims=[8], d_hidden_dims=[8])
    optimizer = torch.optim.SGD(model.generator.parameters(), lr=0.1)
    with torch.no_grad():
        for p in model.generator.parameters():
            p.fill_(3e38)  # finite; their 2-norm would overflow to inf
    model._check_weights(optimizer, "G")  # recorded on the device; read by the check
    model._check_nonfinite("now")
    with torch.no_grad():
        next(model.generator.parameters()).view(-1)[0] = float("nan")
    model._check_weights(optimizer, "G")
    with pytest.raises(NonFiniteLossError, match="G's weights became NaN or infinite at generator step 1 .* training stopped now,"):
        model._check_nonfinite("now")


def test_a_nonfinite_loss_is_a_training_fault_that_the_cli_prints_as_one_line(tiny_config, tmp_path, capsys, monkeypatch):
    assert not issubclass(NonFiniteLossError, ConfigError)  # a fault of the run, not bad configuration
    monkeypatch.setattr(VanillaGAN, "discriminator_loss", lambda self, real, fake: (real.mean() + fake.mean()) * float("nan"))
    with pytest.raises(SystemExit) as info:
        main(["fit", "--config", str(tiny_config), f"--trainer.default_root_dir={tmp_path / 'run'}"])
    [line] = errors(capsys)
    assert info.value.code == 2
    assert line.startswith("ganzoo: error: D loss is nan at D update 1 (after 0 generator steps); training stopped")
