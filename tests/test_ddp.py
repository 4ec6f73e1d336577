"""Two-process DDP on the CPU (gloo), through Lightning's own launcher, with plain ``strategy="ddp"``."""
import json
import os
import subprocess
import sys
import textwrap

import torch

SCRIPT = textwrap.dedent(
    """
    import json, sys
    import lightning.pytorch as pl
    import torch
    from ganzoo import DigitsDataModule, MaxGeneratorSteps, ProjectionGAN, VanillaGAN, Gaussian1D

    out = sys.argv[1]
    seen = []

    class Recorder(pl.Callback):
        def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
            seen.append(float(pl_module.real_samples(batch).sum()))

    vanilla = lambda: VanillaGAN(data_shape=[1], latent_dim=4, g_hidden_dims=[16], d_hidden_dims=[16])
    projgan = lambda: ProjectionGAN(num_classes=10, data_shape=[1, 8, 8], backbone="dcgan", g_width=4, d_width=4)
    gaussian = lambda: Gaussian1D(batch_size=32, num_train=512)
    digits = lambda: DigitsDataModule(batch_size=16, image_size=8)
    for name, (make_model, make_data) in {"vanilla": (vanilla, gaussian), "projgan": (projgan, digits)}.items():
        seen.clear()
        pl.seed_everything(0)
        model = make_model()
        trainer = pl.Trainer(accelerator="cpu", devices=2, strategy="ddp", max_epochs=-1,
                             callbacks=[MaxGeneratorSteps(4), Recorder()], logger=False, enable_checkpointing=False,
                             enable_progress_bar=False, enable_model_summary=False, limit_val_batches=0)
        trainer.fit(model, make_data())
        rank = trainer.global_rank
        torch.save({"parameters": dict(model.named_parameters()), "buffers": dict(model.named_buffers())},
                   f"{out}/{name}_rank{rank}.pt")
        with open(f"{out}/{name}_rank{rank}.json", "w") as f:
            json.dump({"g_steps": model.g_steps, "d_steps": model.d_steps, "batches": seen,
                       "find_unused": trainer.strategy._ddp_kwargs.get("find_unused_parameters")}, f)
    """
)


def test_plain_ddp_trains_and_both_processes_end_with_the_same_weights(tmp_path):
    script = tmp_path / "ddp_run.py"
    script.write_text(SCRIPT)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    result = subprocess.run([sys.executable, str(script), str(tmp_path)], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=600)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    for name in ("vanilla", "projgan"):  # an unconditional and a conditional GAN
        reports = [json.loads((tmp_path / f"{name}_rank{r}.json").read_text()) for r in (0, 1)]
        assert all(r["g_steps"] == 4 and r["d_steps"] == 4 and r["find_unused"] for r in reports)
        # Each process trained on its own shard of the data ...
        assert reports[0]["batches"] != reports[1]["batches"]
        # ... and DDP averaged the gradients, so G's and D's weights are the same on both.
        states = [torch.load(tmp_path / f"{name}_rank{r}.pt", weights_only=True) for r in (0, 1)]
        assert states[0]["parameters"].keys() == states[1]["parameters"].keys()
        for key, value in states[0]["parameters"].items():
            torch.testing.assert_close(value, states[1]["parameters"][key], rtol=0, atol=1e-6, msg=key)
        torch.testing.assert_close(states[0]["buffers"]["fixed_z"], states[1]["buffers"]["fixed_z"], rtol=0, atol=0)
