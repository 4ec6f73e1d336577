"""Two-process DDP on the CPU (gloo), through Lightning's own launcher, with plain ``strategy="ddp"``.

One script trains small GANs under DDP; it runs once per test module (its processes
start only once) and the tests below check what it wrote.
"""
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from ganzoo import DCGAN, DigitsDataModule
from ganzoo.metrics.evaluator import ImageEvaluator, module_sampler
from metric_helpers import TinyFeatures

TINY_DCGAN = dict(data_shape=(1, 8, 8), latent_dim=8, g_width=8, d_width=8)
#: ImageMetrics' protocol in the script; chunks of 8 images, so the ranks hold 16 and 9 real images.
PROTOCOL = dict(metrics=["fid", "kid", "is", "fd_classifier", "classifier_score"], classifier="digits",
                num_fake=30, num_real=25, batch_size=8, kid_subsets=2, kid_subset_size=10, is_splits=2)

SCRIPT = textwrap.dedent(
    """
    import hashlib, json, sys
    import lightning.pytorch as pl
    import torch
    from ganzoo import (DCGAN, DigitsDataModule, GANCheckpoint, ImageMetrics, MaxGeneratorSteps, ProjectionGAN,
                        RunReport, VanillaGAN, Gaussian1D)

    out, tests = sys.argv[1], sys.argv[2]
    sys.path[:0] = [tests, tests + "/.."]  # test_ddp, and the helpers one folder up
    from metric_helpers import TinyFeatures
    from test_ddp import PROTOCOL, TINY_DCGAN

    seen, streams = [], []
    quiet = dict(accelerator="cpu", devices=2, strategy="ddp", logger=False, enable_checkpointing=False,
                 enable_progress_bar=False, enable_model_summary=False)

    class Recorder(pl.Callback):
        def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
            seen.append(float(pl_module.real_samples(batch).sum()))
            streams.append(hashlib.sha1(torch.get_rng_state().numpy().tobytes()).hexdigest())

    def save(model, trainer, name, report):
        rank = trainer.global_rank
        torch.save({"parameters": dict(model.named_parameters()), "buffers": dict(model.named_buffers())},
                   f"{out}/{name}_rank{rank}.pt")
        with open(f"{out}/{name}_rank{rank}.json", "w") as f:
            json.dump(report, f)

    vanilla = lambda **kw: VanillaGAN(data_shape=[1], latent_dim=4, g_hidden_dims=[16], d_hidden_dims=[16], **kw)
    vanilla_g2 = lambda: vanilla(g_steps_per_d_step=2)  # batches whose backward reaches G alone
    projgan = lambda: ProjectionGAN(num_classes=10, data_shape=[1, 8, 8], backbone="dcgan", g_width=4, d_width=4)
    gaussian = lambda: Gaussian1D(batch_size=32, num_train=512)
    digits = lambda: DigitsDataModule(batch_size=16, image_size=8)
    runs = {"vanilla": (vanilla, gaussian), "projgan": (projgan, digits), "vanilla_g2": (vanilla_g2, gaussian)}
    for name, (make_model, make_data) in runs.items():
        seen.clear(), streams.clear()
        pl.seed_everything(0)
        model = make_model()
        trainer = pl.Trainer(**quiet, max_epochs=-1, callbacks=[MaxGeneratorSteps(4), Recorder()],
                             limit_val_batches=0)
        trainer.fit(model, make_data())
        save(model, trainer, name, {"g_steps": model.g_steps, "d_steps": model.d_steps, "batches": seen, "streams": list(streams),
                                    "find_unused": trainer.strategy._ddp_kwargs.get("find_unused_parameters")})

    # Exact resume under DDP: 6 G steps in one go, and 3 (mid-epoch: 4 batches per process and epoch)
    # then 3 more from last.ckpt; dropout and the gradient penalty draw from each process's own stream.
    def resumable_run(g_steps, ckpt_path=None, ckpt_dir="resume_ckpt"):
        pl.seed_everything(0)
        model = VanillaGAN(data_shape=[1], latent_dim=4, g_hidden_dims=[16], d_hidden_dims=[16], d_dropout=0.2,
                           loss="wgan_gp", ema_decay=0.9)
        trainer = pl.Trainer(**{**quiet, "enable_checkpointing": True}, max_epochs=-1, limit_val_batches=0,
                             callbacks=[MaxGeneratorSteps(g_steps), GANCheckpoint(dirpath=f"{out}/{ckpt_dir}")])
        trainer.fit(model, Gaussian1D(batch_size=32, num_train=256), ckpt_path=ckpt_path)
        return model, trainer

    model, trainer = resumable_run(6, ckpt_dir="one_go_ckpt")  # a directory of its own: runs never share one
    save(model, trainer, "one_go", {"g_steps": model.g_steps})
    resumable_run(3)
    model, trainer = resumable_run(6, ckpt_path=f"{out}/resume_ckpt/last.ckpt")
    save(model, trainer, "resumed", {"g_steps": model.g_steps})

    # A finished run continued: max_epochs 1, then 2 from the last.ckpt written when training ended, against
    # 2 in one go; n_critic 2, G with BatchNorm (its statistics are averaged over the processes at the end).
    def epochs_run(epochs, directory, ckpt_path=None):
        pl.seed_everything(0)
        seen.clear()
        model = VanillaGAN(data_shape=[1], latent_dim=4, g_hidden_dims=[16], d_hidden_dims=[16], g_batch_norm=True,
                           n_critic=2, ema_decay=0.9)
        trainer = pl.Trainer(**{**quiet, "enable_checkpointing": True}, max_epochs=epochs, limit_val_batches=1,
                             val_check_interval=3, check_val_every_n_epoch=None, num_sanity_val_steps=0,
                             callbacks=[GANCheckpoint(dirpath=f"{out}/{directory}"), Recorder()])
        trainer.fit(model, Gaussian1D(batch_size=32, num_train=256, num_val=64), ckpt_path=ckpt_path)
        report = {"g_steps": model.g_steps, "d_steps": model.d_steps, "epoch": trainer.current_epoch, "batches": list(seen)}
        torch.save([opt.state_dict() for opt in trainer.optimizers], f"{out}/{directory}_optimizers_rank{trainer.global_rank}.pt")
        save(model, trainer, directory, report)

    epochs_run(2, "epochs_one_go")
    epochs_run(1, "epochs_halves")
    epochs_run(2, "epochs_resumed", ckpt_path=f"{out}/epochs_halves/last.ckpt")

    # Validation: losses logged with sync_dist=True, the datamodule's evaluate() and ImageMetrics.
    val_logs = []

    class LoggedDCGAN(DCGAN):
        def log_dict(self, values, *args, **kwargs):
            if kwargs.get("sync_dist"):  # the validation step's losses, before Lightning reduces them
                val_logs.append({"epoch": self.current_epoch, "batch_size": kwargs["batch_size"],
                                 **{k: float(v) for k, v in values.items()}})
            super().log_dict(values, *args, **kwargs)

    pl.seed_everything(0)
    model = LoggedDCGAN(**TINY_DCGAN)
    metrics = ImageMetrics(**PROTOCOL, every_n_epochs=1, cache_dir=f"{out}/cache", verbose=False)
    metrics.evaluator.inception = TinyFeatures()
    trainer = pl.Trainer(**quiet, max_epochs=2, limit_train_batches=2, limit_val_batches=2, num_sanity_val_steps=0,
                         callbacks=[metrics, RunReport()], default_root_dir=f"{out}/run")
    trainer.fit(model, DigitsDataModule(batch_size=16))
    save(model, trainer, "validation", {
        "logged": {k: float(v) for k, v in trainer.callback_metrics.items()},
        "val_batches": [log for log in val_logs if log["epoch"] == trainer.current_epoch - 1],
        "history": metrics.history, "inception_images": metrics.evaluator.inception.calls,
    })
    """
)

TESTS = Path(__file__).resolve().parent
pytestmark = pytest.mark.slow  # two processes that train several small GANs


@pytest.fixture(scope="module")
def ddp_run(tmp_path_factory):
    """The folder the script's two processes wrote into."""
    out = tmp_path_factory.mktemp("ddp")
    script = out / "ddp_run.py"
    script.write_text(SCRIPT)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    result = subprocess.run([sys.executable, str(script), str(out), str(TESTS)], cwd=out, env=env,
                            capture_output=True, text=True, timeout=600)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    (out / "stdout.txt").write_text(result.stdout)
    return out


def _reports(out, name):
    return [json.loads((out / f"{name}_rank{r}.json").read_text()) for r in (0, 1)]


def test_plain_ddp_trains_and_both_processes_end_with_the_same_weights(ddp_run):
    # an unconditional and a conditional GAN, one with 2 G updates per D update, and a DCGAN
    for name in ("vanilla", "projgan", "vanilla_g2", "validation"):
        reports = _reports(ddp_run, name)
        if name != "validation":
            d_steps = 2 if name == "vanilla_g2" else 4
            assert all(r["g_steps"] == 4 and r["d_steps"] == d_steps and r["find_unused"] for r in reports)
            # Each process trained on its own shard of the data, with its own random stream (latent
            # codes, the penalty's mixing, dropout), so the fakes differ too ...
            assert reports[0]["batches"] != reports[1]["batches"]
            assert not set(reports[0]["streams"]) & set(reports[1]["streams"])
        # ... and DDP averaged the gradients, so G's and D's weights are the same on both.
        states = [torch.load(ddp_run / f"{name}_rank{r}.pt", weights_only=True) for r in (0, 1)]
        assert states[0]["parameters"].keys() == states[1]["parameters"].keys()
        for key, value in states[0]["parameters"].items():
            torch.testing.assert_close(value, states[1]["parameters"][key], rtol=0, atol=1e-6, msg=key)
        torch.testing.assert_close(states[0]["buffers"]["fixed_z"], states[1]["buffers"]["fixed_z"], rtol=0, atol=0)


def test_a_ddp_run_resumed_from_its_checkpoint_ends_where_the_run_in_one_go_ends(ddp_run):
    """Each process restores its own random states and continues its own shard mid-epoch."""
    for rank in (0, 1):
        one_go, resumed = (torch.load(ddp_run / f"{name}_rank{rank}.pt", weights_only=True) for name in ("one_go", "resumed"))
        assert json.loads((ddp_run / f"resumed_rank{rank}.json").read_text())["g_steps"] == 6
        assert any(key.startswith("generator_ema.") for key in one_go["parameters"])
        for key, value in one_go["parameters"].items():
            assert torch.equal(resumed["parameters"][key], value), key
    stored = torch.load(ddp_run / "resume_ckpt" / "last.ckpt", weights_only=True)
    states = stored["ganzoo_random_states"]
    assert len(states) == 2 and not torch.equal(states[0]["torch"], states[1]["torch"])  # one per process


def test_a_finished_ddp_run_continued_with_more_epochs_ends_bit_identical_to_the_run_in_one_go(ddp_run):
    """max_epochs 1 then 2 from last.ckpt: each process trains its whole second epoch, in the one go's order."""
    for rank in (0, 1):
        one_go, halves, resumed = (json.loads((ddp_run / f"{name}_rank{rank}.json").read_text())
                                   for name in ("epochs_one_go", "epochs_halves", "epochs_resumed"))  # fmt: skip
        assert len(halves["batches"]) == len(resumed["batches"]) == 4  # 256 samples / 2 processes / 32
        assert halves["batches"] + resumed["batches"] == one_go["batches"]
        assert (resumed["g_steps"], resumed["d_steps"], resumed["epoch"]) == (one_go["g_steps"], one_go["d_steps"], 2)
        weights, weights_1 = (torch.load(ddp_run / f"{name}_rank{rank}.pt", weights_only=True)
                              for name in ("epochs_resumed", "epochs_one_go"))  # fmt: skip
        for kind in ("parameters", "buffers"):
            assert any(key.startswith("generator_ema.") for key in weights_1[kind])
            for key, value in weights_1[kind].items():
                assert torch.equal(weights[kind][key], value), key
        optimizers, optimizers_1 = (torch.load(ddp_run / f"{name}_optimizers_rank{rank}.pt", weights_only=True)
                                    for name in ("epochs_resumed", "epochs_one_go"))  # fmt: skip
        for opt, opt_1 in zip(optimizers, optimizers_1, strict=True):
            for index, tensors in opt_1["state"].items():
                for name, value in tensors.items():
                    assert torch.equal(opt["state"][index][name], value), (index, name)


def _trained_dcgan(out) -> DCGAN:
    model = DCGAN(**TINY_DCGAN)
    state = torch.load(out / "validation_rank0.pt", weights_only=True)
    model.load_state_dict({**state["parameters"], **state["buffers"]})
    return model


def test_image_metrics_under_ddp_are_the_single_process_values_with_each_image_counted_once(ddp_run, tmp_path):
    single = ImageEvaluator(**PROTOCOL, cache_dir=str(tmp_path))
    single.inception = TinyFeatures()
    expected = single.evaluate(module_sampler(_trained_dcgan(ddp_run)), DigitsDataModule(batch_size=16))
    assert len(expected) == 8  # fid, kid and is with their stds, fd_digits, classifier_score, classes_covered
    reports = _reports(ddp_run, "validation")
    for report in reports:  # the last evaluation saw the final weights
        assert len(report["history"]) == 2
        for key, value in expected.items():
            assert report["history"][-1][key] == pytest.approx(value, rel=1e-5, abs=1e-9), key
            assert report["logged"][f"val/{key}"] == pytest.approx(value, rel=1e-5, abs=1e-9), key
    # The work was split: 25 real images once (the second evaluation read rank 0's cache) and 30 fakes twice.
    counts = [report["inception_images"] for report in reports]
    assert min(counts) > 0 and sum(counts) == 25 + 2 * 30, counts
    stored = {path.name.rsplit("-", 1)[0]: torch.load(path, weights_only=True) for path in (ddp_run / "cache").glob("*.pt")}
    assert stored.keys() == {"fid-inception", "kid-inception", "fid-classifier"}
    assert int(stored["fid-inception"]["n"]) == int(stored["fid-classifier"]["n"]) == 25
    assert stored["kid-inception"]["features"].shape[0] == 25
    # Rank 0 alone appends to metrics.jsonl: one line per evaluation, stating the requested counts.
    lines = [json.loads(line) for line in (ddp_run / "run" / "metrics.jsonl").read_text().splitlines()]
    assert len(lines) == 2
    assert lines[-1]["protocol"]["num_fake"] == 30 and lines[-1]["protocol"]["num_real"] == 25
    assert lines[-1]["protocol"]["world_size"] == 2
    assert lines[-1]["fd_digits_30_train25"] == pytest.approx(expected["fd_digits_30_train25"], rel=1e-5)


def _mean(batches: list[dict], key: str) -> float:
    return sum(b[key] * b["batch_size"] for b in batches) / sum(b["batch_size"] for b in batches)


def test_validation_losses_are_the_mean_over_both_processes_batches(ddp_run):
    reports = _reports(ddp_run, "validation")
    assert [len(report["val_batches"]) for report in reports] == [2, 2]  # limit_val_batches per process
    everyone = reports[0]["val_batches"] + reports[1]["val_batches"]
    for key in ("val/d_loss", "val/d_real", "val/d_acc_real"):  # values of the real batches, which differ by rank
        overall = _mean(everyone, key)
        # a process's own mean is not the overall one, so a missing reduction would show (and a second one, doubled)
        assert all(_mean(report["val_batches"], key) != pytest.approx(overall, rel=1e-5) for report in reports), key
        for report in reports:
            assert report["logged"][key] == pytest.approx(overall, rel=1e-6), key


def test_distribution_metrics_are_the_same_on_every_process(ddp_run):
    model = _trained_dcgan(ddp_run)
    data = DigitsDataModule(batch_size=16)
    expected = data.evaluate(model.generate(data.num_eval_samples, seed=model.eval_seed))
    logged = [report["logged"] for report in _reports(ddp_run, "validation")]
    for key, value in expected.items():
        assert logged[0][f"val/{key}"] == logged[1][f"val/{key}"], key  # the same samples, so the same bits
        assert logged[0][f"val/{key}"] == pytest.approx(value, rel=1e-5, abs=1e-9), key


def test_the_run_report_is_written_and_printed_once_by_rank_zero(ddp_run):
    report = json.loads((ddp_run / "run" / "report.json").read_text())
    logged = _reports(ddp_run, "validation")[0]["logged"]
    assert report["metrics"] == pytest.approx({k: v for k, v in logged.items() if k.startswith("val/")})
    assert report["status"] == "finished" and report["stop_reason"] == "max_epochs=2 reached"
    assert (ddp_run / "stdout.txt").read_text().count("ganzoo: LoggedDCGAN on DigitsDataModule") == 1
