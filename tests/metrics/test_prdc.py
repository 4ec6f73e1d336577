"""Precision, recall, density and coverage: against a brute-force reference, on hand-computed cases,
and through the evaluator, the callback and ``ganzoo evaluate``."""
import pytest
import torch

from ganzoo.errors import ConfigError
from ganzoo.metrics.prdc import kth_neighbour_distances, precision_recall_density_coverage as prdc


def brute_force(real, fake, pr_k, dc_k):
    """The papers' formulas over the full distance matrices, in float64."""
    real, fake = real.double(), fake.double()
    real_real, fake_fake, fake_real = torch.cdist(real, real), torch.cdist(fake, fake), torch.cdist(fake, real)
    # sorted row i: [0 (itself), 1st neighbour, 2nd, ...]
    real_radius = lambda k: real_real.sort(dim=1).values[:, k]  # noqa: E731
    fake_radius = fake_fake.sort(dim=1).values[:, pr_k]
    return {
        "precision": (fake_real <= real_radius(pr_k)[None, :]).any(dim=1).double().mean().item(),
        "recall": (fake_real <= fake_radius[:, None]).any(dim=0).double().mean().item(),
        "density": (fake_real <= real_radius(dc_k)[None, :]).sum().item() / (dc_k * len(fake)),
        "coverage": (fake_real.min(dim=0).values <= real_radius(dc_k)).double().mean().item(),
    }


@pytest.mark.parametrize("chunk_size", [7, 1000])  # 7: several blocks, the last one short
@pytest.mark.parametrize("pr_k, dc_k", [(3, 5), (1, 2)])
def test_it_matches_the_brute_force_reference(chunk_size, pr_k, dc_k):
    g = torch.Generator().manual_seed(0)
    real = torch.randn(40, 6, generator=g, dtype=torch.float64)
    fake = 0.7 * torch.randn(31, 6, generator=g, dtype=torch.float64) + 0.5  # narrower and shifted: all four < 1
    expected = brute_force(real, fake, pr_k, dc_k)
    assert 0 < expected["precision"] < 1 and 0 < expected["recall"] < 1 and 0 < expected["coverage"] < 1
    assert prdc(real, fake, pr_k, dc_k, chunk_size=chunk_size) == pytest.approx(expected, abs=1e-12)


def test_float32_features_in_chunks_agree_with_the_float64_reference():
    g = torch.Generator().manual_seed(1)
    real, fake = torch.randn(300, 64, generator=g) + 20, torch.randn(200, 64, generator=g) * 1.1 + 20
    assert prdc(real, fake, chunk_size=64) == pytest.approx(brute_force(real, fake, 3, 5), abs=1e-9)


def test_kth_neighbour_distances_skip_the_sample_itself():
    x = torch.tensor([[0.0], [1.0], [3.0], [7.0]])
    first, second = kth_neighbour_distances(x, (1, 2), chunk_size=3)
    assert first.tolist() == [1, 1, 2, 4] and second.tolist() == [3, 2, 3, 6]


def test_identical_sets_score_one_everywhere_and_density_counts_the_balls():
    x = torch.tensor([[0.0], [1.0], [2.0], [3.0]])
    # radius 1 everywhere (k = 1); 0 and 3 lie in 2 balls, 1 and 2 in 3: density (2 + 3 + 3 + 2) / 4
    assert prdc(x, x, pr_k=1, dc_k=1, chunk_size=3) == {"precision": 1, "recall": 1, "density": 2.5, "coverage": 1}
    g = torch.Generator().manual_seed(2)
    y = torch.randn(50, 8, generator=g)
    values = prdc(y, y.clone(), chunk_size=16)
    assert (values["precision"], values["recall"], values["coverage"]) == (1, 1, 1) and values["density"] >= 1 / 5


def test_far_apart_sets_score_zero():
    g = torch.Generator().manual_seed(3)
    real = torch.randn(30, 4, generator=g)
    assert prdc(real, real + 100, chunk_size=8) == {"precision": 0, "recall": 0, "density": 0, "coverage": 0}


def test_a_hand_computed_case_tells_the_four_apart():
    # real at 0, 1, 2, 3 (k = 1 radii: 1, 1, 1, 1); fake at 0, 0.5, 10, 11 (k = 1 radii: 0.5, 0.5, 1, 1)
    real = torch.tensor([[0.0], [1.0], [2.0], [3.0]])
    fake = torch.tensor([[0.0], [0.5], [10.0], [11.0]])
    values = prdc(real, fake, pr_k=1, dc_k=1, chunk_size=2)
    # precision: 0 and 0.5 lie in a real ball, 10 and 11 do not -> 2/4
    # recall: real 0 lies in fake 0's ball (radius 0.5), real 1 on the edge of fake 0.5's (closed balls count it),
    #   real 2 and 3 in none -> 2/4
    # density: fake 0 in balls of real 0 and 1 (2), fake 0.5 in real 0 and 1 (2), the others in none -> 4 / (1 * 4)
    # coverage: real 0 and 1 have a fake within radius 1, real 2 (nearest fake 0.5 away by 1.5) and 3 do not -> 2/4
    assert values == {"precision": 0.5, "recall": 0.5, "density": 1.0, "coverage": 0.5}


def test_density_rewards_crowding_that_precision_cannot_see():
    real = torch.tensor([[0.0], [1.0], [2.0], [3.0], [4.0]])
    crowded = torch.full((5, 1), 2.0)
    values = prdc(real, crowded, pr_k=1, dc_k=1)
    # every fake lies in the balls of real 1, 2 and 3 (radius 1): density 3; yet only those 3 real balls are covered
    assert values["precision"] == 1 and values["density"] == 3 and values["coverage"] == pytest.approx(3 / 5)


@pytest.mark.parametrize("kwargs, message", [
    (dict(pr_k=4), "pr_k 4 needs more than 4 real samples, got 4; lower pr_k or use more samples"),
    (dict(dc_k=0), "dc_k must be a positive integer, got 0; e.g. dc_k=5"),
    (dict(chunk_size=0), "chunk_size must be a positive integer, got 0"),
])
def test_bad_settings_are_one_line(kwargs, message):
    x = torch.zeros(4, 2)
    with pytest.raises(ConfigError, match=message):
        prdc(x, torch.zeros(9, 2), **{"pr_k": 1, "dc_k": 1, **kwargs})


def test_features_of_different_sizes_are_refused():
    with pytest.raises(ConfigError, match=r"real and fake features differ in size \(2 vs 3\)"):
        prdc(torch.zeros(9, 2), torch.zeros(9, 3), pr_k=1, dc_k=1)


def test_no_distance_block_exceeds_the_chunk(monkeypatch):
    import ganzoo.metrics.prdc as module

    g = torch.Generator().manual_seed(4)
    real, fake = torch.randn(50, 3, generator=g), torch.randn(40, 3, generator=g)
    expected = brute_force(real, fake, 3, 5)
    shapes, cdist = [], torch.cdist
    monkeypatch.setattr(torch, "cdist", lambda a, b: shapes.append((len(a), len(b))) or cdist(a, b))
    assert prdc(real, fake, chunk_size=7) == pytest.approx(expected)
    assert max(rows for rows, _ in shapes) == 7 and sum(rows for rows, _ in shapes) == 50 + 40 + 40
    shapes.clear()
    monkeypatch.setattr(module, "BLOCK", 100)  # the automatic chunk: 100 distances -> 2 rows of 50
    assert prdc(real, fake) == pytest.approx(expected)
    assert max(rows * cols for rows, cols in shapes) <= 100
