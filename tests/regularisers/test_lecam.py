"""LeCam against its formula on fixed scores, its anchors' moving average by hand, and its anchors in checkpoints."""
import lightning.pytorch as pl
import pytest
import torch

from ganzoo import ConfigError, DiscriminatorStep, LeCam, MaxGeneratorSteps, Ring2D, VanillaGAN


def step(real, fake):
    real, fake = torch.tensor(real, requires_grad=True), torch.tensor(fake, requires_grad=True)
    return DiscriminatorStep(torch.zeros(()), real, fake)


def model(**kwargs):
    return VanillaGAN(data_shape=[2], latent_dim=4, g_hidden_dims=[8], d_hidden_dims=[8], **kwargs)


def lecam(regulariser, d_step):
    return regulariser.penalty(model(), None, None, None, d_step)


def test_the_first_step_sets_the_anchors_and_pairs_each_side_with_the_others_anchor():
    regulariser = LeCam(weight=0.5, one_sided=False)
    d_step = step([1.0, 3.0], [-2.0, 0.0])  # means: real 2, fake -1
    value = lecam(regulariser, d_step)
    assert (float(regulariser.anchor_real), float(regulariser.anchor_fake)) == (2.0, -1.0)
    # 0.5 * (mean((D(x) - alpha_F)^2) + mean((D(G(z)) - alpha_R)^2)) = 0.5 * ((4 + 16) / 2 + (16 + 4) / 2)
    assert float(value.detach()) == pytest.approx(10.0)
    value.backward()  # d/dD(x_i) = 0.5 * 2 (D(x_i) - alpha_F) / N
    torch.testing.assert_close(d_step.real_logits.grad, torch.tensor([1.0, 2.0]))
    torch.testing.assert_close(d_step.fake_logits.grad, torch.tensor([-2.0, -1.0]))


def test_the_anchors_move_by_their_decay_and_the_one_sided_form_keeps_what_lies_beyond_them():
    regulariser = LeCam(weight=1.0, decay=0.9)
    lecam(regulariser, step([2.0, 2.0], [-1.0, -1.0]))
    value = lecam(regulariser, step([0.0, -6.0], [4.0, -2.0]))  # means: real -3, fake 1
    alpha_r, alpha_f = 0.9 * 2.0 + 0.1 * -3.0, 0.9 * -1.0 + 0.1 * 1.0  # 1.5, -0.8
    assert float(regulariser.anchor_real) == pytest.approx(alpha_r)
    assert float(regulariser.anchor_fake) == pytest.approx(alpha_f)
    # relu(D(x) - alpha_F)^2: only 0.0 lies above -0.8; relu(alpha_R - D(G(z)))^2: only -2.0 lies below 1.5
    assert float(value.detach()) == pytest.approx((0.8**2) / 2 + (3.5**2) / 2)
    assert int(regulariser.updates) == 2


def test_during_ema_start_the_anchors_are_the_latest_means():
    regulariser = LeCam(decay=0.99, ema_start=2)
    for real, fake in (([1.0], [0.0]), ([5.0], [-5.0])):
        lecam(regulariser, step(real, fake))
    assert (float(regulariser.anchor_real), float(regulariser.anchor_fake)) == (5.0, -5.0)
    lecam(regulariser, step([105.0], [-105.0]))
    assert float(regulariser.anchor_real) == pytest.approx(6.0)


def test_anchors_are_checkpointed_and_restored(tmp_path, trainer_kwargs):
    pl.seed_everything(0)
    trained = model(loss="hinge", regularisers=[LeCam()])
    trainer = pl.Trainer(**trainer_kwargs, max_epochs=-1, limit_val_batches=0, log_every_n_steps=1,
                         callbacks=[MaxGeneratorSteps(4)])
    trainer.fit(trained, Ring2D(batch_size=32, num_train=256))
    lc = trained.regularisers[0]
    assert int(lc.updates) == 4 and float(lc.anchor_real) != 0 and float(lc.anchor_fake) != 0
    assert float(trainer.callback_metrics["train/d_lecam"]) >= 0
    path = tmp_path / "lecam.ckpt"
    trainer.save_checkpoint(path)
    loaded = VanillaGAN.load_from_checkpoint(path, regularisers=[LeCam()])
    restored = loaded.regularisers[0]
    assert (float(restored.anchor_real), float(restored.anchor_fake), int(restored.updates)) == (
        float(lc.anchor_real), float(lc.anchor_fake), 4)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"weight": -0.1}, "LeCam weight must be"),
        ({"decay": 1.5}, "LeCam decay must be"),
        ({"ema_start": -1}, r"LeCam ema_start must be a non-negative integer, got -1; e.g. LeCam\(ema_start=1000\)"),
    ],
)
def test_bad_settings_are_one_line(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        LeCam(**kwargs)
