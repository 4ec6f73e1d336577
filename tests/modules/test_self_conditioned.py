"""The self-conditioned GAN: its k-means, the frozen trunk's labels, the label frequencies, training, the CLI and evaluate."""
import json
from pathlib import Path

import lightning.pytorch as pl
import pytest
import torch
import yaml
from torch.utils.data import DataLoader, TensorDataset

from ganzoo import DigitsDataModule, MaxGeneratorSteps, SelfConditionedGAN
from ganzoo.cli import GANZooCLI, main
from ganzoo.modules import clustering

ROOT = Path(__file__).resolve().parents[2]
RECIPE = ROOT / "zoo_configs" / "selfcond_mnist.yaml"


def tiny(**kwargs):
    settings = dict(num_clusters=3, cluster_samples=32, recluster_every=2, data_shape=(1, 8, 8), latent_dim=6,
                    g_width=4, d_width=4)  # fmt: skip
    return SelfConditionedGAN(**{**settings, **kwargs})


def blobs(sizes=(40, 25, 60, 35), dim=5, spread=0.1, seed=0):
    """Well-separated Gaussian blobs: rows ``(N, dim)``, their blob ``(N,)`` and the blobs' sample means ``(K, dim)``."""
    g = torch.Generator().manual_seed(seed)
    centres = torch.randn(len(sizes), dim, generator=g) * 10
    labels = torch.cat([torch.full((n,), i) for i, n in enumerate(sizes)])
    x = centres[labels] + spread * torch.randn(len(labels), dim, generator=g)
    means = torch.stack([x[labels == i].mean(0) for i in range(len(sizes))])
    return x, labels, means


def same_partition(a, b, k):
    """Whether the labellings ``a`` and ``b`` are the same partition up to a renaming of the clusters."""
    pairs = set(zip(a.tolist(), b.tolist()))
    return len(pairs) == k and len({p[0] for p in pairs}) == k and len({p[1] for p in pairs}) == k


# ------------------------------------------------------------------ k-means
def test_kmeans_recovers_separated_blobs_and_their_means():
    x, truth, means = blobs()
    result = clustering.kmeans(x, 4, generator=torch.Generator().manual_seed(1))
    assert same_partition(result.labels, truth, 4)
    for c in range(4):  # each found centre is the mean of the blob it labels
        blob = truth[result.labels == c][0]
        torch.testing.assert_close(result.centres[c], means[blob], atol=1e-4, rtol=0)
    assert result.iterations <= 30


def test_chunked_distances_give_the_same_clustering():
    x, _, _ = blobs(sizes=(30, 30, 30), spread=2.0)  # overlapping: many Lloyd iterations
    whole = clustering.kmeans(x, 5, generator=torch.Generator().manual_seed(3), chunk_size=10**6)
    chunked = clustering.kmeans(x, 5, generator=torch.Generator().manual_seed(3), chunk_size=7)
    assert torch.equal(whole.labels, chunked.labels)
    torch.testing.assert_close(whole.centres, chunked.centres)
    labels, distances = clustering.nearest(x, whole.centres, chunk_size=4)
    brute = torch.cdist(x, whole.centres).pow(2)
    assert torch.equal(labels, brute.argmin(1))
    torch.testing.assert_close(distances, brute.min(1).values, atol=1e-3, rtol=1e-4)


def test_an_empty_cluster_is_reseeded_with_the_farthest_row():
    x = torch.tensor([[0.0], [1.0], [2.0], [10.0], [11.0], [30.0]])
    means = clustering.cluster_means(x, torch.tensor([0, 0, 0, 1, 1, 1]), k=3)
    # means 1 and 17: the row farthest from its nearest mean is 30 (13 away)
    assert means[:, 0].tolist() == [1.0, 17.0, 30.0]
    far_start = torch.tensor([[0.5], [1000.0], [-1000.0]])  # two centres no row is near
    result = clustering.lloyd(x, far_start, iterations=10)
    assert torch.bincount(result.labels, minlength=3).min() > 0
    assert same_partition(result.labels, torch.tensor([0, 0, 0, 1, 1, 2]), 3)


def test_the_hungarian_matching_gives_a_permuted_clustering_its_old_names():
    g = torch.Generator().manual_seed(0)
    old = torch.randint(5, (200,), generator=g)
    permutation = torch.tensor([3, 0, 4, 1, 2])
    new = permutation[old]
    new[:10] = (new[:10] + 1) % 5  # a few rows really change cluster
    centres = torch.arange(5.0)[:, None].expand(5, 2)
    mapping = clustering.match_clusters(old, new, 5)
    assert torch.equal(mapping[permutation], torch.arange(5))  # new name permutation[c] goes back to c
    renamed = clustering.relabel(clustering.Clustering(centres, new, 1), mapping)
    assert torch.equal(renamed.labels[10:], old[10:])
    assert torch.equal(renamed.centres[mapping[0]], centres[0])


# ------------------------------------------------------------- labels
def test_real_labels_are_the_nearest_centre_in_the_frozen_trunk_until_the_next_clustering():
    torch.manual_seed(0)
    model = tiny(num_clusters=4)
    images = torch.rand(32, 1, 8, 8) * 2 - 1
    assert torch.equal(model.cluster_labels(images), torch.zeros(32, dtype=torch.int64))  # before any clustering
    model._remember(images)
    model.recluster()
    features = model.cluster_encoder(images)
    expected = torch.cdist(features, model.cluster_centres).argmin(1)
    assert torch.equal(model.cluster_labels(images), expected)
    assert torch.equal(model.batch_labels((images, torch.full((32,), 9))), expected)  # the batch's labels are ignored
    assert not any(p.requires_grad for p in model.cluster_encoder.parameters())
    assert model.cluster_counts.sum() == 32 and model.clusterings == 1

    with torch.no_grad():  # D trains: the frozen copy does not move
        for p in model.discriminator.parameters():
            p.add_(torch.randn_like(p))
    torch.testing.assert_close(model.cluster_encoder(images), features)
    assert torch.equal(model.cluster_labels(images), expected)
    model.recluster()  # and is D's trunk again after the next clustering
    for name, value in model.discriminator.features.state_dict().items():
        assert torch.equal(model.cluster_encoder.trunk.state_dict()[name], value), name


def test_generated_labels_follow_the_cluster_frequencies():
    model = tiny(num_clusters=4)
    assert torch.equal(model.sample_labels(50), torch.zeros(50, dtype=torch.int64))  # one cluster before clustering
    model.cluster_counts.copy_(torch.tensor([1.0, 2.0, 0.0, 7.0]))
    n, expected = 20_000, torch.tensor([0.1, 0.2, 0.0, 0.7])
    counts = torch.bincount(model.sample_labels(n, torch.Generator().manual_seed(0)), minlength=4).double()
    chi_square = ((counts[expected > 0] - n * expected[expected > 0]) ** 2 / (n * expected[expected > 0])).sum()
    assert counts[2] == 0 and chi_square < 13.8  # the 0.999 quantile with 2 degrees of freedom
    samples = model.generate(6, seed=1)
    assert samples.shape == (6, 1, 8, 8) and torch.equal(samples, model.generate(6, seed=1))


# ------------------------------------------------------------- training
class RecordClusterings(pl.Callback):
    def __init__(self):
        self.at = []

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx):
        if module.clusterings > len(self.at):
            self.at.append(module.clustered_at)


def test_training_on_unlabelled_images_reclusters_at_the_right_generator_steps(trainer_kwargs):
    pl.seed_everything(0)
    model = tiny()
    images = torch.rand(80, 1, 8, 8) * 2 - 1
    loader = DataLoader(images, batch_size=8, shuffle=True, drop_last=True)  # batches of samples alone
    record = RecordClusterings()
    trainer = pl.Trainer(**trainer_kwargs, max_epochs=-1, log_every_n_steps=1, limit_val_batches=0,
                         callbacks=[MaxGeneratorSteps(9), record])
    before = [p.detach().clone() for p in model.generator.parameters()]
    trainer.fit(model, loader)
    # 8 samples a batch, one G step a batch: the 32-sample buffer fills at G step 3, then every 2 G steps
    assert record.at == [3, 5, 7] and model.samples_seen == 72
    assert any(not torch.equal(a, b) for a, b in zip(before, model.generator.parameters()))
    metrics = trainer.callback_metrics
    assert metrics["train/clusters_used"] == 3 and 0 <= metrics["train/cluster_relabelled"] <= 1
    assert 0 < metrics["train/cluster_entropy"] <= torch.log(torch.tensor(3.0)) + 1e-6


def test_a_2d_toy_trains_with_the_mlp_backbone(trainer_kwargs):
    pl.seed_everything(0)
    x, _, _ = blobs(sizes=(64, 64), dim=2, spread=0.05)
    model = SelfConditionedGAN(num_clusters=2, cluster_samples=64, recluster_every=3, data_shape=[2], backbone="mlp",
                               latent_dim=4, g_hidden_dims=[16], d_hidden_dims=[16], n_critic=2)
    loader = DataLoader(TensorDataset(x / 10, torch.zeros(len(x))), batch_size=16, shuffle=True, drop_last=True)
    trainer = pl.Trainer(**trainer_kwargs, max_epochs=-1, limit_val_batches=0, callbacks=[MaxGeneratorSteps(10)])
    trainer.fit(model, loader)
    assert model.g_steps == 10 and model.clusterings >= 2
    assert model.generate(5).shape == (5, 2) and torch.isfinite(model.cluster_centres).all()


# ------------------------------------------------------------- checkpoints and the CLI
@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    path = tmp_path_factory.mktemp("selfcond") / "selfcond.ckpt"
    pl.seed_everything(0)
    trainer = pl.Trainer(accelerator="cpu", logger=False, enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False, default_root_dir=str(path.parent), limit_val_batches=0, max_epochs=-1,
                         callbacks=[MaxGeneratorSteps(6)])
    trainer.fit(tiny(num_clusters=4, data_shape=(1, 8, 8)), DigitsDataModule(batch_size=16))
    trainer.save_checkpoint(path)
    return path


def test_a_checkpoint_reloads_with_its_clusters(checkpoint):
    stored = torch.load(checkpoint, weights_only=True)
    assert "num_classes" not in stored["hyper_parameters"] and stored["hyper_parameters"]["num_clusters"] == 4
    assert stored["state_dict"]["cluster_buffer"].dtype == torch.float16
    model = SelfConditionedGAN.load_from_checkpoint(checkpoint)
    assert model.num_classes == 4 and model.clusterings == stored["ganzoo_self_conditioning"]["clusterings"] >= 1
    assert torch.equal(model.cluster_centres, stored["state_dict"]["cluster_centres"])
    assert torch.equal(model.cluster_counts, stored["state_dict"]["cluster_counts"])
    logs = stored["ganzoo_self_conditioning"]["logs"]  # the last clustering's values, logged until the next one
    assert logs["train/clusters_used"] == 4 and {k: float(v) for k, v in model._cluster_logs.items()} == logs


def test_evaluate_refuses_class_metrics_in_one_line_and_computes_the_others(checkpoint, tmp_path, capsys):
    common = ["--num_fake", "8", "--num_real", "8", "--batch_size", "8", "--classifier", "digits",
              "--cache_dir", str(tmp_path / "cache"), "--device", "cpu"]
    for metric in ("class_accuracy", "intra_fd_classifier"):
        with pytest.raises(SystemExit) as exit_:
            main(["evaluate", str(checkpoint), "--metrics", "fd_classifier", metric, *common])
        assert exit_.value.code == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and f"metrics ['{metric}'] compare generated labels with the data's classes" in err[0]
        assert "SelfConditionedGAN's labels are clusters it found, not classes" in err[0]
    output = tmp_path / "fd.json"
    main(["evaluate", str(checkpoint), "--metrics", "fd_classifier", "classifier_score", *common, "--output", str(output)])
    metrics = json.loads(output.read_text())["metrics"]
    assert metrics["fd_digits_8_train8"] > 0 and metrics["classifier_score_8"] >= 1


def test_generate_without_labels_draws_clusters_as_often_as_trained_on(checkpoint, tmp_path, capsys):
    """``ganzoo generate`` gives a conditional model its classes in turn; clusters are drawn by frequency."""
    model = SelfConditionedGAN.load_from_checkpoint(checkpoint)
    weights = torch.zeros(model.num_classes)
    weights[2] = 5.0  # every sample from cluster 2
    model.cluster_counts.copy_(weights)
    only_cluster_2 = tmp_path / "cluster2.ckpt"
    checkpoint_dict = torch.load(checkpoint, weights_only=True)
    checkpoint_dict["state_dict"]["cluster_counts"] = weights
    torch.save(checkpoint_dict, only_cluster_2)
    main(["generate", str(only_cluster_2), "--num_samples", "6", "--seed", "3", "--output", str(tmp_path / "s.pt")])
    assert ", classes" not in capsys.readouterr().out  # no classes were asked for
    z = model.sample_prior(6, torch.Generator().manual_seed(3))
    expected = model.decode(z, torch.full((6,), 2))
    assert torch.allclose(torch.load(tmp_path / "s.pt", weights_only=True), expected, atol=1e-6)
    cycled = model.decode(z, torch.arange(6) % model.num_classes)  # what a conditional model's classes in turn give
    assert not torch.allclose(cycled, expected, atol=1e-3)
    main(["generate", str(only_cluster_2), "--labels", "1", "--num_samples", "2", "--output", str(tmp_path / "c.pt")])
    assert ", clusters 1:" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["generate", str(only_cluster_2), "--labels", "9", "--output", str(tmp_path / "bad.pt")])
    assert capsys.readouterr().err.strip() == (
        "ganzoo: error: label 9 is outside [0, 4): SelfConditionedGAN has 4 clusters; pass cluster indices 0..3"
    )


def test_the_recipe_keeps_its_clusters_when_the_cli_links_the_datas_classes(capsys, tmp_path):
    with pytest.raises(SystemExit) as exit_:
        main(["fit", "--config", str(RECIPE), "--print_config"])
    assert exit_.value.code == 0
    model = yaml.safe_load(capsys.readouterr().out)["model"]
    assert model["class_path"] == "ganzoo.SelfConditionedGAN" and "num_classes" not in model["init_args"]
    args = ["--config", str(RECIPE), "--model.init_args.num_clusters=7", "--trainer.logger=false",
            f"--trainer.default_root_dir={tmp_path}"]
    cli = GANZooCLI(args=args, run=False)
    assert cli.datamodule.num_classes == 10  # MNIST's, linked into models that take num_classes
    assert cli.model.num_classes == 7 and cli.model.cluster_centres.shape[0] == 7
    assert cli.model.hparams["num_clusters"] == 7 and "num_classes" not in cli.model.hparams


def test_a_short_fit_of_the_recipe_through_the_cli(mnist_dir, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    main(["fit", "--config", str(RECIPE), f"--data.data_dir={mnist_dir}", "--max_g_steps=6", "--trainer.logger=false",
          "--trainer.limit_val_batches=0", "--model.init_args.cluster_samples=256",
          "--model.init_args.recluster_every=2", f"--trainer.default_root_dir={tmp_path}"])
    stored = torch.load(next(tmp_path.rglob("last.ckpt")), weights_only=True)
    # 256 digits fill the buffer in 4 batches (G step 1 with 2 D steps a G step), then G steps 3 and 5
    counters = {k: v for k, v in stored["ganzoo_self_conditioning"].items() if k != "logs"}
    assert counters == {"samples_seen": 12 * 64, "clusterings": 3, "clustered_at": 5}
    assert stored["ganzoo_self_conditioning"]["logs"]["train/clusters_used"] == 20
    assert stored["state_dict"]["cluster_centres"].shape[0] == 20


DDP_SCRIPT = """
import sys
import lightning.pytorch as pl
import torch
from ganzoo import DigitsDataModule, MaxGeneratorSteps, SelfConditionedGAN

pl.seed_everything(0)
model = SelfConditionedGAN(num_clusters=3, cluster_samples=32, recluster_every=1, data_shape=[1, 16, 16], g_width=4,
                           d_width=4, d_norm="batch")  # BatchNorm: each process's D keeps its own statistics
trainer = pl.Trainer(accelerator="cpu", devices=2, strategy="ddp", logger=False, enable_checkpointing=False,
                     enable_progress_bar=False, enable_model_summary=False, max_epochs=-1, limit_val_batches=0,
                     callbacks=[MaxGeneratorSteps(5)])
trainer.fit(model, DigitsDataModule(batch_size=16, image_size=16))
state = {name: value for name, value in model.state_dict().items() if name.startswith("cluster")}
torch.save({**state, "clusterings": model.clusterings}, f"{sys.argv[1]}/rank{trainer.global_rank}.pt")
"""


@pytest.mark.slow  # two processes
def test_under_ddp_every_process_clusters_all_buffers_and_labels_alike(tmp_path):
    import os
    import subprocess
    import sys

    script = tmp_path / "ddp_selfcond.py"
    script.write_text(DDP_SCRIPT)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    result = subprocess.run([sys.executable, str(script), str(tmp_path)], cwd=tmp_path, env=env, capture_output=True,
                            text=True, timeout=600)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    rank0, rank1 = (torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in (0, 1))
    # the buffer fills at G step 1 (2 batches of 16 per process), then a clustering at every G step
    assert rank0["clusterings"] == rank1["clusterings"] == 4
    assert not torch.equal(rank0["cluster_buffer"], rank1["cluster_buffer"])  # each process its own samples
    assert rank0["cluster_counts"].sum() == 64  # both buffers clustered together
    for name in rank0:
        if name not in ("cluster_buffer", "clusterings"):  # centres, counts and the frozen trunk: rank 0's
            assert torch.equal(rank0[name], rank1[name]), name
