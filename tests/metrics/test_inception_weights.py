"""The InceptionV3 weights: found offline (path or torch cache), refused when unsafe, failing early in one line."""
import pickle

import pytest
import torch

from ganzoo.errors import ConfigError
from ganzoo.metrics.inception import (
    INCEPTION_FILE,
    INCEPTION_URL,
    InceptionFeatures,
    check_weights_file,
    find_inception_weights,
)


@pytest.fixture
def empty_torch_cache(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    return tmp_path / "hub" / "checkpoints" / INCEPTION_FILE


def test_missing_weights_name_the_file_the_url_and_where_to_put_it(empty_torch_cache):
    with pytest.raises(ConfigError) as err:
        find_inception_weights(None)
    message = str(err.value)
    assert "\n" not in message
    assert INCEPTION_URL in message and f"put it at {empty_torch_cache}" in message
    assert "leave fid, is, kid and prdc out of the metrics" in message


def test_missing_given_path_is_named(tmp_path):
    with pytest.raises(ConfigError, match=r"inception_weights='.*nowhere.pth' \(no such file\)"):
        find_inception_weights(tmp_path / "nowhere.pth")


def test_weights_are_found_in_a_folder_and_in_the_torch_cache(empty_torch_cache, tmp_path):
    (tmp_path / "weights").mkdir()
    (tmp_path / "weights" / INCEPTION_FILE).write_bytes(b"x")
    assert find_inception_weights(tmp_path / "weights") == tmp_path / "weights" / INCEPTION_FILE
    empty_torch_cache.parent.mkdir(parents=True)
    empty_torch_cache.write_bytes(b"x")
    assert find_inception_weights(None) == empty_torch_cache


class _Payload:
    """Unpickling this runs code: it would write a marker file."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_a_file_that_needs_arbitrary_code_is_refused_before_torch_fidelity_opens_it(tmp_path, random_inception_weights):
    marker = tmp_path / "code_ran"
    state = torch.load(random_inception_weights, weights_only=True, mmap=True)
    bad = tmp_path / "tampered.pth"
    torch.save({**state, "extra": _Payload(marker)}, bad)
    with pytest.raises(ConfigError, match=r"refusing InceptionV3 weights file '.*tampered.pth'.*weights_only=True") as err:
        InceptionFeatures(bad)
    assert "\n" not in str(err.value)
    with pytest.raises(ConfigError):
        check_weights_file(bad)
    assert not marker.exists()  # nothing was unpickled unsafely
    torch.load(bad, weights_only=False)  # what torch-fidelity would have done: the payload runs
    assert marker.exists()


def test_a_file_that_is_not_inception_is_refused(tmp_path):
    other = tmp_path / "other.pth"
    torch.save({"weight": torch.zeros(3)}, other)
    with pytest.raises(ConfigError, match="is not an InceptionV3 state dict"):
        check_weights_file(other)
    garbage = tmp_path / "garbage.pth"
    garbage.write_bytes(pickle.dumps([1, 2]) + b"junk")
    with pytest.raises(ConfigError, match="refusing"):
        check_weights_file(garbage)


def test_features_and_logits_in_one_pass(random_inception_weights):
    net = InceptionFeatures(random_inception_weights, feature=2048)
    images = torch.randint(0, 256, (2, 3, 16, 16), dtype=torch.uint8)
    features, logits = net(images)
    assert features.shape == (2, 2048) and logits.shape == (2, 1008)
    small, none = InceptionFeatures(random_inception_weights, feature=64, logits=False)(images)
    assert small.shape == (2, 64) and none is None
    assert net.describe()["weights"].startswith("random_inception.pth:")
    with pytest.raises(ConfigError, match=r"feature 100 is not an InceptionV3 feature size"):
        InceptionFeatures(random_inception_weights, feature=100)
