"""DiffAugment's ops against their definitions, on images with known answers."""
import pytest
import torch

from ganzoo import ConfigError, DiffAugment
from ganzoo.augmentation.diffaugment import adjust_contrast, adjust_saturation, cut_out, translate


def _one_hot(n=16, size=8, row=3, col=4):
    x = torch.zeros(n, 1, size, size)
    x[:, :, row, col] = 1.0
    return x


def test_translation_moves_the_pixel_by_the_drawn_shift():
    torch.manual_seed(0)
    aug = DiffAugment("translation")
    x = _one_hot(n=64, size=16, row=7, col=8)
    params = aug.draw(x)
    down, right = params["translation"]
    assert int(down.abs().max()) == 2 and int(right.abs().max()) == 2  # 1/8 of 16 px, every shift drawn in 64
    out = aug.apply(x, params)
    for i in range(len(x)):
        (r, c) = torch.nonzero(out[i, 0]).tolist()[0]
        assert (r, c) == (7 + int(down[i]), 8 + int(right[i]))
        assert float(out[i].sum()) == 1.0


def test_translation_fills_the_uncovered_border_with_zero():
    x = torch.full((1, 1, 4, 4), 0.5)
    out = translate(x, torch.tensor([1]), torch.tensor([-2]))
    expected = torch.zeros(4, 4)
    expected[1:, :2] = 0.5
    assert torch.equal(out[0, 0], expected)


def test_cutout_zeros_a_square_of_half_the_side():
    torch.manual_seed(1)
    aug = DiffAugment("cutout")
    x = torch.ones(200, 3, 8, 8)
    params = aug.draw(x)
    top, left = params["cutout"]
    out = aug.apply(x, params)
    zeros = (out[:, 0] == 0).sum(dim=(1, 2))
    inside = (top >= 0) & (top <= 4) & (left >= 0) & (left <= 4)  # the whole 4x4 square lies in the image
    assert inside.any() and (~inside).any()
    assert torch.all(zeros[inside] == 16) and torch.all(zeros[~inside] < 16) and torch.all(zeros > 0)
    for i in torch.nonzero(inside).flatten()[:5].tolist():
        t, l = int(top[i]), int(left[i])
        assert torch.all(out[i, :, t : t + 4, l : l + 4] == 0)
    assert torch.equal(out.amax(1), out.amin(1))  # every channel cut alike


def test_cut_out_clips_at_the_border():
    out = cut_out(torch.ones(1, 1, 6, 6), torch.tensor([-2]), torch.tensor([4]), 3, 3)
    assert (out[0, 0] == 0).nonzero().tolist() == [[0, 4], [0, 5]]


def test_brightness_adds_one_constant_per_sample_within_half():
    torch.manual_seed(2)
    x = torch.rand(32, 3, 8, 8) * 2 - 1
    aug = DiffAugment("color")
    aug.ops = ["brightness"]
    out = aug(x)
    shift = (out - x).flatten(1)
    assert torch.allclose(shift, shift[:, :1].expand_as(shift), atol=1e-6)
    assert shift.abs().max() <= 0.5 and shift[:, 0].std() > 0.1


def test_saturation_and_contrast_scale_deviations_from_their_means():
    x = torch.tensor([[[[0.0, 1.0]], [[1.0, 1.0]]]])  # (1, 2, 1, 2)
    # channel means per pixel: 0.5 and 1.0; saturation 2 doubles each value's distance to them
    assert torch.allclose(adjust_saturation(x, torch.tensor([2.0])), torch.tensor([[[[-0.5, 1.0]], [[1.5, 1.0]]]]))
    # image mean 0.75; contrast 0.5 halves each distance to it
    assert torch.allclose(adjust_contrast(x, torch.tensor([0.5])), torch.tensor([[[[0.375, 0.875]], [[0.875, 0.875]]]]))


def test_the_colour_draws_are_the_papers_ranges():
    torch.manual_seed(3)
    params = DiffAugment("color").draw(torch.zeros(4000, 3, 8, 8))
    for op, low, high in (("brightness", -0.5, 0.5), ("saturation", 0.0, 2.0), ("contrast", 0.5, 1.5)):
        assert low <= float(params[op].min()) < low + 0.01 and high - 0.01 < float(params[op].max()) <= high


def test_gradient_flows_to_the_images():
    x = torch.randn(8, 3, 16, 16, requires_grad=True)
    DiffAugment("color,translation,cutout,flip")(x).square().sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_p_zero_is_the_identity_and_p_one_always_applies():
    x = torch.randn(64, 3, 8, 8)
    assert torch.equal(DiffAugment(p=0.0)(x), x)
    torch.manual_seed(4)
    params = DiffAugment("color,translation", p=1.0).draw(x)
    assert torch.all(params["brightness"] != 0) and torch.all(params["saturation"] != 1)
    torch.manual_seed(5)
    half = DiffAugment("color", p=0.5).draw(torch.zeros(4000, 1, 8, 8))
    assert 0.45 < float((half["brightness"] != 0).float().mean()) < 0.55


def test_draws_come_from_torchs_generator():
    x = torch.randn(8, 3, 8, 8)
    torch.manual_seed(6)
    first = DiffAugment()(x)
    torch.manual_seed(6)
    assert torch.equal(DiffAugment()(x), first)


def test_policy_as_a_list_and_bad_values_are_one_line():
    assert DiffAugment(["color", "cutout"]).ops == ["brightness", "saturation", "contrast", "cutout"]
    with pytest.raises(ConfigError, match="unknown DiffAugment policy 'colour'; choose one of: color, cutout, flip, translation"):
        DiffAugment("colour,translation")
    with pytest.raises(ConfigError, match="DiffAugment p must be"):
        DiffAugment(p=1.5)
    with pytest.raises(ConfigError, match=r"augments images \(N, C, H, W\), got samples of shape \(4, 2\)"):
        DiffAugment()(torch.zeros(4, 2))
