"""The components switched on by one YAML entry each, trained a few steps through the real CLI."""
import textwrap

import pytest

from ganzoo import AdaptiveAugment, BalancedConsistency, DiffAugment
from ganzoo.cli import GANZooCLI

RECIPE = """
seed_everything: 0
max_g_steps: 3
trainer:
  accelerator: cpu
  logger: false
  enable_checkpointing: false
  enable_progress_bar: false
  enable_model_summary: false
  limit_val_batches: 0
  log_every_n_steps: 1
model:
  class_path: ganzoo.DCGAN
  init_args:
    latent_dim: 8
    g_width: 4
    d_width: 4
    d_norm: none
    d_pack: 2
    d_minibatch_std: 4
    augmentation: {augmentation}
    regularisers:
      - class_path: ganzoo.BalancedConsistency
        init_args: {{lambda_real: 10, lambda_fake: 10}}
data:
  class_path: ganzoo.DigitsDataModule
  init_args:
    batch_size: 16
"""


@pytest.mark.parametrize(
    "augmentation, cls",
    [
        ("{class_path: ganzoo.DiffAugment, init_args: {policy: 'color,translation,cutout'}}", DiffAugment),
        ("{class_path: ganzoo.DiffAugment, init_args: {policy: [color, translation, cutout]}}", DiffAugment),
        ("{class_path: ganzoo.AdaptiveAugment, init_args: {speed_img: 100, interval: 1}}", AdaptiveAugment),
    ],
)
def test_a_recipe_switches_the_components_on_with_one_entry_each(augmentation, cls, tmp_path):
    config = tmp_path / "recipe.yaml"
    config.write_text(textwrap.dedent(RECIPE).format(augmentation=augmentation))
    cli = GANZooCLI(args=["fit", "--config", str(config), f"--trainer.default_root_dir={tmp_path}"])
    model = cli.model
    assert (model.g_steps, model.d_steps) == (3, 3)
    assert type(model.augmentation) is cls and model.discriminator.pack == 2
    assert isinstance(model.regularisers[0], BalancedConsistency)
    metrics = cli.trainer.callback_metrics
    assert float(metrics["train/d_bcr"]) > 0 and "train/d_acc_real" in metrics
    if cls is AdaptiveAugment:  # 8 packed scores of 2 images each per D step: p moves by 16 / speed_img a step
        assert float(metrics["train/augment_p"]) == pytest.approx(float(model.augmentation.probability()))
        assert int(model.augmentation.level) % 16 == 0 and "train/augment_rt" in metrics
    else:
        assert model.augmentation.ops == ["brightness", "saturation", "contrast", "translation", "cutout"]


def test_a_batch_size_the_pack_does_not_divide_is_one_line_through_the_cli(tmp_path, capsys):
    from ganzoo.cli import main

    config = tmp_path / "recipe.yaml"
    config.write_text(textwrap.dedent(RECIPE).format(augmentation="null"))
    with pytest.raises(SystemExit) as info:
        main(["fit", "--config", str(config), f"--trainer.default_root_dir={tmp_path}", "--data.init_args.batch_size=7"])
    assert info.value.code == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        "ganzoo: error: d_pack=2 makes D judge packs of 2 samples, but a batch holds 7 samples; use a batch_size "
        "divisible by 2 (training batches are full: drop_last) or d_pack=1"
    )
