"""``ganzoo animate RUN_DIR``: the run's saved pictures, one frame each, as a GIF or an MP4; bad inputs in test_bad_input."""
import sys
from importlib.util import find_spec

import lightning.pytorch as pl
import pytest
from PIL import Image

from ganzoo import DistributionMonitor, Gaussian1D, MaxGeneratorSteps, VanillaGAN
from ganzoo.animation import find_frames
from ganzoo.cli import main
from ganzoo.commands import animate


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A toy run's directory with its distribution figures at G steps 0, 4, 8, 12 and its training.gif."""
    root = tmp_path_factory.mktemp("animate")
    trainer = pl.Trainer(
        accelerator="cpu", logger=False, default_root_dir=root, max_epochs=-1, limit_val_batches=0,
        enable_progress_bar=False, enable_checkpointing=False, enable_model_summary=False,
        callbacks=[DistributionMonitor(every_n_steps=4, num_samples=200, verbose=False), MaxGeneratorSteps(12)],
    )  # fmt: skip
    trainer.fit(VanillaGAN(data_shape=[1], latent_dim=4, g_hidden_dims=[8], d_hidden_dims=[8]),
                Gaussian1D(batch_size=32, num_train=640, num_val=64))
    return root


def frames_of(path):
    with Image.open(path) as gif:
        return gif.n_frames, [(gif.seek(i), gif.info["duration"])[1] for i in range(gif.n_frames)]


def test_animate_gives_the_frames_the_callback_animated(run_dir, tmp_path, capsys):
    figures = find_frames(run_dir / "figures", "distribution")
    assert len(figures) == 4
    out = tmp_path / "a.gif"
    main(["animate", str(run_dir), "--output", str(out), "--fps", "10"])  # as the ganzoo command dispatches it
    assert frames_of(out) == (4, [100, 100, 100, 2000])
    assert frames_of(run_dir / "figures" / "training.gif")[0] == 4  # what DistributionMonitor wrote at the end
    assert f"ganzoo: 4 frames (G steps 0 to 12) at 10 fps: {out}" in capsys.readouterr().out


def test_animate_writes_beside_the_frames_by_default_and_takes_the_figures_folder(run_dir):
    (run_dir / "figures" / "training.gif").unlink()
    assert animate.main([str(run_dir)]) == run_dir / "figures" / "training.gif"
    assert animate.main([str(run_dir / "figures"), "--output", str(run_dir / "again.gif")]) == run_dir / "again.gif"
    assert frames_of(run_dir / "again.gif")[0] == frames_of(run_dir / "figures" / "training.gif")[0] == 4


def test_grids_come_first_and_frames_picks_a_kind(tmp_path):
    for kind, folder, steps in (("grid", "samples", 3), ("interpolation", "samples", 2), ("distribution", "figures", 5)):
        (tmp_path / folder).mkdir(exist_ok=True)
        for g in range(steps):
            Image.new("RGB", (8, 8), (g * 40, 0, 0)).save(tmp_path / folder / f"{kind}_g{g:06d}.png")
    assert frames_of(animate.main([str(tmp_path)]))[0] == 3
    assert frames_of(animate.main([str(tmp_path), "--frames", "interpolation", "--output", str(tmp_path / "i.gif")]))[0] == 2
    assert frames_of(animate.main([str(tmp_path), "--frames", "distribution"]))[0] == 5


@pytest.mark.skipif(find_spec("imageio_ffmpeg") is None, reason="imageio-ffmpeg is not installed")
def test_animate_writes_an_mp4_with_the_bundled_ffmpeg(run_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", "")
    out = animate.main([str(run_dir), "--format", "mp4", "--output", str(tmp_path / "run.mp4")])
    assert out.read_bytes()[4:8] == b"ftyp" and out.stat().st_size > 1000


def test_an_mp4_without_ffmpeg_is_refused_before_the_work(run_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", "")
    monkeypatch.setitem(sys.modules, "imageio_ffmpeg", None)
    with pytest.raises(SystemExit) as info:
        main(["animate", str(run_dir), "--format", "mp4", "--output", str(tmp_path / "run.mp4")])
    err = capsys.readouterr().err.strip().splitlines()
    assert info.value.code == 2 and len(err) == 1 and "pip install 'ganzoo[video]'" in err[0]
    assert list(tmp_path.iterdir()) == []

