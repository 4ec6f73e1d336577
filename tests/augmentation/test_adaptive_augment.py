"""ADA's probability: moved by sign(r_t - target) * images / speed_img every interval D steps, clipped, checkpointed."""
from types import SimpleNamespace

import pytest
import torch
from lightning.pytorch import Trainer

from ganzoo import DCGAN, AdaptiveAugment, DigitsDataModule, DiscriminatorStep, get_loss
from ganzoo.nets import MLPDiscriminator


def _gan(loss="non_saturating", pack=1):
    return SimpleNamespace(loss_fn=get_loss(loss), discriminator=MLPDiscriminator((1,), (4,), pack=pack), d_steps=0)


def _observe(ada, gan, real_logits):
    gan.d_steps += 1  # the training step counts the update before it calls observe
    ada.observe(gan, DiscriminatorStep(torch.zeros(()), torch.as_tensor(real_logits), torch.zeros(len(real_logits))))


def test_p_rises_when_d_is_sure_of_the_reals_and_falls_when_not_by_images_over_speed():
    ada, gan = AdaptiveAugment(interval=2, speed_img=1000, initial_p=0.5), _gan()
    _observe(ada, gan, [1.0] * 8)
    assert float(ada.probability()) == 0.5  # within the interval: no adjustment yet
    _observe(ada, gan, [2.0] * 6 + [-1.0] * 2)  # r_t = (8 + 4) / 16 = 0.75 > 0.6
    assert float(ada.probability()) == pytest.approx(0.5 + 16 / 1000)
    assert float(ada.log_values()["augment_rt"]) == pytest.approx(0.75)
    _observe(ada, gan, [1.0] * 4 + [-1.0] * 4)
    _observe(ada, gan, [1.0] * 4 + [-1.0] * 4)  # r_t = 0 < 0.6
    assert float(ada.probability()) == pytest.approx(0.5)
    assert float(ada.log_values()["augment_p"]) == pytest.approx(0.5)


def test_p_is_clipped_to_zero_and_one():
    low, high, gan = AdaptiveAugment(interval=1, speed_img=100), AdaptiveAugment(interval=1, speed_img=100, initial_p=0.95), _gan()
    _observe(low, gan, [-1.0] * 8)
    _observe(high, gan, [1.0] * 8)
    assert float(low.probability()) == 0.0 and float(high.probability()) == 1.0


def test_the_sign_is_taken_at_the_losss_decision_level_and_a_pack_counts_its_images():
    ada, gan = AdaptiveAugment(interval=1, speed_img=1000, initial_p=0.5), _gan("lsgan", pack=4)
    _observe(ada, gan, [0.3] * 8)  # above 0 but below lsgan's level 0.5: D calls them fake
    assert float(ada.log_values()["augment_rt"]) == -1.0
    assert float(ada.probability()) == pytest.approx(0.5 - 32 / 1000)  # 8 scores of 4 images each


def test_no_rt_is_logged_before_the_first_adjustment():
    assert set(AdaptiveAugment().log_values()) == {"augment_p"}


def test_p_and_the_statistics_are_restored_from_a_checkpoint(tmp_path):
    def model():
        ada = AdaptiveAugment(interval=1, speed_img=64, initial_p=0.5)
        return DCGAN(data_shape=(1, 8, 8), latent_dim=8, g_width=4, d_width=4, d_norm="none", augmentation=ada)

    torch.manual_seed(0)  # a run whose p ends away from where it started
    trained = model()
    trainer = Trainer(accelerator="cpu", max_steps=10, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                      enable_model_summary=False, log_every_n_steps=1, limit_val_batches=0, default_root_dir=tmp_path)
    trainer.fit(trained, DigitsDataModule(batch_size=16))
    p = float(trained.augmentation.probability())
    assert p != 0.5 and (p / 0.25).is_integer() and float(trainer.callback_metrics["train/augment_p"]) == pytest.approx(p)
    assert "train/augment_rt" in trainer.callback_metrics
    trainer.save_checkpoint(tmp_path / "ada.ckpt")
    restored = model()
    restored.load_state_dict(torch.load(tmp_path / "ada.ckpt", weights_only=True)["state_dict"])
    assert float(restored.augmentation.probability()) == p
    assert torch.equal(restored.augmentation.last_rt, trained.augmentation.last_rt)


def _process(rank, port, queue):
    torch.distributed.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=2)
    try:
        ada, gan = AdaptiveAugment(interval=2, speed_img=1000, initial_p=0.5), _gan()
        # rank 0 sees r_t = 1 alone, rank 1 sees -0.5: over both, (16 - 8) / 32 = 0.25 < 0.6, so p falls
        logits = [1.0] * 8 if rank == 0 else [1.0] * 2 + [-1.0] * 6
        _observe(ada, gan, logits)
        _observe(ada, gan, logits)
        queue.put((rank, (float(ada.probability()), float(ada.last_rt), ada.accumulated.tolist())))
    finally:
        torch.distributed.destroy_process_group()


@pytest.mark.slow
def test_rt_is_summed_over_ddp_processes_and_every_process_gets_the_same_p():
    import socket

    import torch.multiprocessing as mp

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    queue = mp.get_context("fork").SimpleQueue()
    mp.start_processes(_process, args=(port, queue), nprocs=2, start_method="fork")  # fork: no second import of torch
    results = dict(queue.get() for _ in range(2))
    assert results[0] == results[1]
    p, rt, accumulated = results[0]
    assert rt == pytest.approx(0.25) and p == pytest.approx(0.5 - 32 / 1000) and accumulated == [0, 0, 0]
