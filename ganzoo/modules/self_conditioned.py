"""The self-conditioned GAN (Liu, Wang, Bau, Zhu & Torralba, CVPR 2020): a conditional GAN on labels it finds.

A projection-discriminator GAN (:class:`~ganzoo.ProjectionGAN`) whose labels are k-means
clusters of real samples in D's own features, not the data's classes, so it trains on
unlabelled data. Each real sample's label is its nearest cluster centre in the features of a
frozen copy of D's trunk (``phi``), the copy taken at the last clustering: the partition stays
fixed between re-clusterings, and labels need no dataset indices. G makes the fakes of a batch
for the batch's cluster labels, so its labels follow the clusters' frequencies, and
:meth:`~SelfConditionedGAN.sample_labels` draws them from those frequencies.

The samples clustered are the last ``cluster_samples`` real samples training saw, kept in a
FIFO buffer (float16): no extra pass over the data, which would change the loader's random
draws and so exact resume. Until the buffer is first full every label is 0 (one cluster); the
first clustering (k-means++ and Lloyd) comes when it fills, then one every ``recluster_every``
generator steps, each started from the means of the old partition in the new features and its
clusters matched to the old ones (the Hungarian algorithm on their overlap), so a label keeps
its meaning for G's embeddings. :mod:`ganzoo.modules.clustering` holds the k-means.
"""
from __future__ import annotations

import copy
from typing import Any, Optional, Sequence

import numpy as np
import torch
from torch import Tensor, nn

from ganzoo.errors import ConfigError, check_positive_int
from ganzoo.modules import clustering
from ganzoo.modules.conditional import ProjectionGAN
from ganzoo.modules.sampling import evaluating

#: the checkpoint key of the clustering's counters (its tensors are buffers, in ``state_dict``).
CHECKPOINT_KEY = "ganzoo_self_conditioning"


class FrozenEncoder(nn.Module):
    """A frozen copy of D's feature trunk: no gradients, in no optimizer, and run in eval mode.

    Its mode follows the module's (Lightning warns about submodules left in eval mode), but each
    forward runs the trunk in eval mode, so its BatchNorm statistics and spectral-norm vectors
    stay those of the copy.

    Args:
        trunk: D's ``features``, ``(N, *S) -> (N, F)``; copied, not shared.
    """

    def __init__(self, trunk: nn.Module):
        super().__init__()
        self.trunk = copy.deepcopy(trunk).requires_grad_(False)

    def forward(self, x: Tensor) -> Tensor:
        """Samples ``(N, *S)`` -> features ``(N, F)``."""
        with evaluating(self.trunk):
            return self.trunk(x)


class SelfConditionedGAN(ProjectionGAN):
    """Self-conditioned GAN: a projection-discriminator GAN whose labels are clusters of D's features.

    Trains on any datamodule, labelled or not: labels in the batches are ignored. Its labels
    are clusters, not classes, so ``ganzoo evaluate`` refuses the class metrics
    (``class_accuracy``, ``intra_fd_classifier``, ``intra_fid``) for it; the metrics of
    unconditioned samples (``fd_classifier``, ``fid``, ``prdc_classifier``, ...) draw labels
    from the cluster frequencies. Each clustering logs ``train/clusters_used`` (non-empty
    clusters), ``train/cluster_relabelled`` (share of the buffer whose label changed) and
    ``train/cluster_entropy`` (of the cluster sizes, nats; ``log k`` when balanced).

    Args:
        num_clusters: k, the number of clusters, and so of G's labels. Not linked from the
            data: the number of classes a datamodule has does not change it.
        recluster_every: generator steps between two clusterings after the first.
        cluster_samples: real samples clustered: the last ones training saw, kept as float16
            (``cluster_samples x prod(data_shape) x 2`` bytes, saved in checkpoints).
        kmeans_iters: most Lloyd iterations of each clustering (it stops earlier when the
            labels stop changing).
        data_shape: shape of one sample; linked from the datamodule.
        backbone: ``dcgan``, ``resnet`` or ``mlp`` (see :class:`~ganzoo.ConditionalGAN`).
        embed_dim: size of G's label embedding; ``None`` takes ``num_clusters``.
        g_width: see :class:`~ganzoo.ConditionalGAN`.
        d_width: see :class:`~ganzoo.ConditionalGAN`.
        g_hidden_dims: see :class:`~ganzoo.ConditionalGAN`.
        d_hidden_dims: see :class:`~ganzoo.ConditionalGAN`.
        g_batch_norm: see :class:`~ganzoo.ConditionalGAN`.
        d_dropout: see :class:`~ganzoo.ConditionalGAN`.
        loss: the GAN loss; ``hinge`` as in the projection discriminator's paper.
        d_norm: D's normalisation; ``spectral`` by default.
        latent_dim: size of z.
        **kwargs: everything else of :class:`~ganzoo.GANModule` (prior, n_critic, optimizers, ...).
    """

    #: its labels are clusters it found: metrics that compare labels with the data's classes do not apply.
    labels_are_classes = False
    #: set from ``num_clusters``; recorded, a reload would pass it twice.
    derived_hyperparameters = ("num_classes",)

    def __init__(
        self,
        num_clusters: int = 20,
        recluster_every: int = 1000,
        cluster_samples: int = 10_000,
        kmeans_iters: int = 30,
        data_shape: Sequence[int] = (1, 28, 28),
        backbone: str = "dcgan",
        embed_dim: Optional[int] = None,
        g_width: int = 64,
        d_width: int = 64,
        g_hidden_dims: Sequence[int] = (256, 256),
        d_hidden_dims: Sequence[int] = (256, 256),
        g_batch_norm: bool = True,
        d_dropout: float = 0.0,
        loss: str = "hinge",
        d_norm: Optional[str] = "spectral",
        latent_dim: int = 100,
        **kwargs,
    ):
        self.num_clusters = check_positive_int("num_clusters", num_clusters, "num_clusters=20")
        self.recluster_every = check_positive_int("recluster_every", recluster_every, "recluster_every=1000")
        self.cluster_samples = check_positive_int("cluster_samples", cluster_samples, "cluster_samples=10000")
        self.kmeans_iters = check_positive_int("kmeans_iters", kmeans_iters, "kmeans_iters=30")
        if cluster_samples < num_clusters:
            raise ConfigError(
                f"cluster_samples={cluster_samples} is fewer than num_clusters={num_clusters}; "
                f"cluster at least as many samples as clusters, e.g. cluster_samples={max(10_000, num_clusters)}"
            )
        super().__init__(
            num_classes=num_clusters, data_shape=data_shape, backbone=backbone, embed_dim=embed_dim, g_width=g_width,
            d_width=d_width, g_hidden_dims=g_hidden_dims, d_hidden_dims=d_hidden_dims, g_batch_norm=g_batch_norm,
            d_dropout=d_dropout, loss=loss, d_norm=d_norm, latent_dim=latent_dim, **kwargs,
        )  # fmt: skip
        #: the frozen copy of D's trunk whose features the centres live in.
        self.cluster_encoder = FrozenEncoder(self.discriminator.features)
        feature_dim = self._feature_dim()
        self.register_buffer("cluster_centres", torch.zeros(num_clusters, feature_dim))
        #: samples of each cluster in the buffer at the last clustering: the frequencies G's labels follow.
        self.register_buffer("cluster_counts", torch.nn.functional.one_hot(torch.tensor(0), num_clusters).float())
        self.register_buffer("cluster_buffer", torch.zeros(cluster_samples, *self.hparams.data_shape, dtype=torch.float16))
        #: real samples written to the buffer so far, clusterings made, and the G step of the last one.
        self.samples_seen, self.clusterings, self.clustered_at = 0, 0, -1
        self._cluster_logs: dict[str, Tensor] = {}

    @torch.no_grad()
    def _feature_dim(self) -> int:
        with_shape = torch.zeros(1, *self.hparams.data_shape)
        return int(self.cluster_encoder(with_shape).shape[1])

    # ------------------------------------------------------------------ labels
    @torch.no_grad()
    def cluster_labels(self, x: Tensor, chunk_size: int = 1024) -> Tensor:
        """The cluster of each real sample ``(N, *S)``: int64 ``(N,)``, its nearest centre in the frozen
        trunk's features (all 0 before the first clustering)."""
        if not self.clusterings:
            return torch.zeros(x.shape[0], dtype=torch.int64, device=x.device)
        return clustering.nearest(self._features(x, chunk_size), self.cluster_centres.float())[0]

    def _features(self, x: Tensor, chunk_size: int = 1024) -> Tensor:
        """The frozen trunk's float32 features ``(N, F)`` of samples ``(N, *S)``, a chunk at a time."""
        weight = next(self.cluster_encoder.parameters())  # its device and dtype (bf16 under a "-true" precision)
        return torch.cat([self.cluster_encoder(chunk.to(weight)).float() for chunk in x.split(chunk_size)])

    def batch_labels(self, batch: Any) -> Tensor:
        """The cluster labels ``(N,)`` of a batch's real samples; labels the batch holds are ignored."""
        return self.cluster_labels(self.real_samples(batch))

    def sample_labels(self, n: int, generator: Optional[torch.Generator] = None) -> Tensor:
        """Labels int64 ``(n,)`` on the CPU drawn from the clusters' frequencies at the last clustering."""
        return torch.multinomial(self.cluster_counts.detach().cpu().double(), n, replacement=True, generator=generator)

    # ------------------------------------------------------------- clustering
    def on_train_batch_start(self, batch: Any, batch_idx: int) -> None:
        super().on_train_batch_start(batch, batch_idx)  # a resumed run's random states first
        self._remember(self.real_samples(batch))
        if self.clustering_due():
            self.recluster()
        if self._cluster_logs and self._logging_this_batch():
            self.log_dict(self._cluster_logs)

    @torch.no_grad()
    def _remember(self, real: Tensor) -> None:
        """Writes real samples ``(N, *S)`` into the FIFO buffer over the oldest ones."""
        size, real = self.cluster_samples, real[-self.cluster_samples:]
        index = (self.samples_seen + torch.arange(real.shape[0], device=self.cluster_buffer.device)) % size
        self.cluster_buffer[index] = real.detach().to(self.cluster_buffer.device, torch.float16)
        self.samples_seen += real.shape[0]

    def clustering_due(self) -> bool:
        """Whether to cluster now: when the buffer first fills, then every ``recluster_every`` G steps."""
        if self.samples_seen < self.cluster_samples:
            return False
        return not self.clusterings or self.g_steps - self.clustered_at >= self.recluster_every

    @torch.no_grad()
    def recluster(self) -> None:
        """Clusters the buffer in the features of D's trunk now, and freezes that trunk for the labels.

        Under DDP every process's buffer is clustered together, and rank 0's centres and trunk are
        given to all, so every process labels alike.
        """
        old_labels = self._gathered(self.cluster_labels(self.cluster_buffer))  # in the old features and centres
        self.cluster_encoder.trunk.load_state_dict(self._broadcast(self.discriminator.features.state_dict()))
        features = self._gathered(self._features(self.cluster_buffer)).cpu()
        if self.clusterings:  # from the old partition's means in the new features, its labels kept
            start = clustering.cluster_means(features, old_labels.cpu(), self.num_clusters)
            result = clustering.lloyd(features, start, self.kmeans_iters)
            result = clustering.relabel(result, clustering.match_clusters(old_labels, result.labels, self.num_clusters))
        else:  # k-means++ from a seed of its own: the same on every process and in a resumed run
            seed = int(np.random.SeedSequence([self.eval_seed, self.clusterings]).generate_state(1)[0])
            result = clustering.kmeans(features, self.num_clusters, self.kmeans_iters, torch.Generator().manual_seed(seed))
        counts = torch.bincount(result.labels, minlength=self.num_clusters).float()
        centres, counts = self._broadcast((result.centres, counts))
        self.cluster_centres.copy_(centres)
        self.cluster_counts.copy_(counts)
        self.clusterings, self.clustered_at = self.clusterings + 1, self.g_steps
        self._cluster_logs = {
            "train/clusters_used": (counts > 0).sum().float(),
            "train/cluster_relabelled": (result.labels != old_labels.cpu()).float().mean(),
            "train/cluster_entropy": clustering.entropy(counts).float(),
        }

    def _gathered(self, rows: Tensor) -> Tensor:
        """``rows`` ``(N, ...)`` of every DDP process, in rank order ``(world * N, ...)``; themselves on one process."""
        if self._trainer is None or self.trainer.world_size == 1:
            return rows
        return self.all_gather(rows).flatten(0, 1)

    def _broadcast(self, value: Any) -> Any:
        """Rank 0's ``value`` on every process (the value itself on one)."""
        if self._trainer is None or self.trainer.world_size == 1:
            return value
        return self.trainer.strategy.broadcast(value, src=0)

    # ------------------------------------------------------------ checkpoints
    def on_save_checkpoint(self, checkpoint: dict) -> None:
        super().on_save_checkpoint(checkpoint)
        checkpoint[CHECKPOINT_KEY] = {
            "samples_seen": self.samples_seen, "clusterings": self.clusterings, "clustered_at": self.clustered_at,
            "logs": {name: float(value) for name, value in self._cluster_logs.items()},  # logged until the next one
        }  # fmt: skip

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        super().on_load_checkpoint(checkpoint)
        stored = checkpoint.get(CHECKPOINT_KEY, {})
        self.samples_seen = int(stored.get("samples_seen", 0))
        self.clusterings = int(stored.get("clusterings", 0))
        self.clustered_at = int(stored.get("clustered_at", -1))
        self._cluster_logs = {name: torch.tensor(value) for name, value in stored.get("logs", {}).items()}
