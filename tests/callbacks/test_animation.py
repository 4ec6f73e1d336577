"""Animations of training: one frame per saved picture, in G-step order, as a GIF (Pillow) or an MP4 (ffmpeg)."""
import errno
import os
import stat
from importlib.util import find_spec

import lightning.pytorch as pl
import pytest
import wandb
from lightning.pytorch import Trainer
from lightning.pytorch.loggers import WandbLogger
from PIL import Image

from ganzoo import DCGAN, DigitsDataModule, DistributionMonitor, Gaussian1D, MaxGeneratorSteps, SampleGrid, VanillaGAN
from ganzoo import animation
from ganzoo.animation import find_ffmpeg, find_frames, frames_of_run, write_animation
from ganzoo.errors import ConfigError
from wandb_offline import read_offline_run

IMAGEIO_FFMPEG = pytest.mark.skipif(find_spec("imageio_ffmpeg") is None, reason="imageio-ffmpeg is not installed")


def durations(path):
    with Image.open(path) as gif:
        return [(gif.seek(i), gif.info["duration"])[1] for i in range(gif.n_frames)]


def pictures(folder, sizes, prefix="grid"):
    """PNG frames ``<prefix>_g<step>.png`` of the given sizes, steps 0, 10, 20, ...: red, 10 levels greener
    each (a GIF merges identical successive frames), the corner pixel white."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, size in enumerate(sizes):
        image = Image.new("RGB", size, (200, 30 + 10 * i, 30))
        image.putpixel((0, 0), (255, 255, 255))
        paths.append(folder / f"{prefix}_g{10 * i:06d}.png")
        image.save(paths[-1])
    return paths


def no_ffmpeg(monkeypatch):
    monkeypatch.setenv("PATH", "")
    monkeypatch.setitem(__import__("sys").modules, "imageio_ffmpeg", None)


def fake_ffmpeg(folder, monkeypatch, exit_code=0):
    """An ``ffmpeg`` on PATH that records its arguments and writes its last one (the output), or fails."""
    folder.mkdir(exist_ok=True)
    script = folder / "ffmpeg"
    body = 'for last; do :; done; printf "\\0\\0\\0\\030ftypisom" > "$last"' if not exit_code else "echo 'Unknown encoder libx264' >&2"
    script.write_text(f'#!/bin/sh\necho "$@" > "{folder}/args"\n{body}\nexit {exit_code}\n')
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", str(folder))
    return folder / "args"


def test_frames_are_ordered_by_generator_step_not_by_name(tmp_path):
    for name in ("grid_g000100.png", "grid_g000020.png", "grid_g1000000.png", "grid_final.png", "interpolation_g000005.png"):
        Image.new("RGB", (4, 4)).save(tmp_path / name)
    assert [p.name for p in find_frames(tmp_path, "grid")] == ["grid_g000020.png", "grid_g000100.png", "grid_g1000000.png"]


def test_a_gif_has_one_frame_per_picture_and_holds_the_last(tmp_path):
    frames = pictures(tmp_path, [(30, 20)] * 4)
    path = write_animation(frames, tmp_path / "out.gif", fps=10, hold=1.5)
    assert durations(path) == [100, 100, 100, 1500]
    with Image.open(path) as gif:
        gif.seek(2)
        assert gif.convert("RGB").getpixel((10, 10)) == (200, 50, 30)  # the third picture, not a dithered guess
    assert not list(tmp_path.glob(".*partial*"))


def test_frames_of_unequal_size_are_centred_on_the_largest(tmp_path):
    frames = pictures(tmp_path, [(10, 10), (40, 24), (20, 30)])
    with Image.open(write_animation(frames, tmp_path / "out.gif")) as gif:
        assert gif.size == (40, 30) and gif.n_frames == 3
        first = gif.convert("RGB")
        assert first.getpixel((20, 15)) == (200, 30, 30) and first.getpixel((2, 2)) == (255, 255, 255)  # filled by the corner


def test_large_frames_are_scaled_down(tmp_path):
    frames = pictures(tmp_path, [(1600, 400)] * 2)
    with Image.open(write_animation(frames, tmp_path / "out.gif")) as gif:
        assert gif.size == (animation.MAX_SIDE, animation.MAX_SIDE // 4)


def test_a_full_disk_leaves_no_half_written_animation(tmp_path, monkeypatch):
    frames = pictures(tmp_path, [(30, 20)] * 2)

    def full(pictures, path, fps, hold):
        path.write_bytes(b"GIF89a partial")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(animation, "_write_gif", full)
    with pytest.raises(OSError) as info:
        write_animation(frames, tmp_path / "out.gif")
    assert info.value.errno == errno.ENOSPC and info.value.filename == str(tmp_path / "out.gif")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["grid_g000000.png", "grid_g000010.png"]


def test_an_unknown_suffix_and_no_frames_are_refused(tmp_path):
    with pytest.raises(ConfigError, match=r"unknown animation type '\.avi'.*use \.gif or \.mp4"):
        write_animation(pictures(tmp_path, [(4, 4)]), tmp_path / "out.avi")
    with pytest.raises(ConfigError, match="no frames"):
        write_animation([], tmp_path / "out.gif")


def test_an_mp4_without_ffmpeg_names_the_extra(tmp_path, monkeypatch):
    no_ffmpeg(monkeypatch)
    assert find_ffmpeg() is None
    with pytest.raises(ConfigError, match=r"pip install 'ganzoo\[video\]'"):
        write_animation(pictures(tmp_path, [(4, 4)]), tmp_path / "out.mp4")


def test_ffmpeg_on_path_is_called_with_an_even_h264_stream(tmp_path, monkeypatch):
    args_file = fake_ffmpeg(tmp_path / "bin", monkeypatch)
    assert find_ffmpeg() == str(tmp_path / "bin" / "ffmpeg")  # PATH before imageio-ffmpeg's copy
    path = write_animation(pictures(tmp_path / "f", [(31, 21)] * 3), tmp_path / "out.mp4", fps=4, hold=1)
    args = args_file.read_text().split()
    assert args[args.index("-framerate") + 1] == "4" and args[args.index("-c:v") + 1] == "libx264"
    assert args[args.index("-pix_fmt") + 1] == "yuv420p"
    assert path.read_bytes()[4:8] == b"ftyp" and not list(tmp_path.glob(".*partial*"))


def test_a_failing_ffmpeg_is_one_line_and_leaves_nothing(tmp_path, monkeypatch):
    fake_ffmpeg(tmp_path / "bin", monkeypatch, exit_code=1)
    with pytest.raises(ConfigError, match=r"could not write .*out\.mp4': Unknown encoder libx264; write a GIF instead"):
        write_animation(pictures(tmp_path / "f", [(8, 8)] * 2), tmp_path / "out.mp4")
    assert not list(tmp_path.glob("*.mp4")) and not list(tmp_path.glob(".*partial*"))


@IMAGEIO_FFMPEG
def test_an_mp4_from_imageio_ffmpeg_is_a_valid_video_of_every_frame(tmp_path, monkeypatch):
    import imageio_ffmpeg

    monkeypatch.setenv("PATH", "")
    path = write_animation(pictures(tmp_path, [(30, 20), (31, 21), (30, 20)]), tmp_path / "out.mp4", fps=5, hold=1)
    data = path.read_bytes()
    assert data[4:8] == b"ftyp" and b"moov" in data and b"avc1" in data  # an MP4 box layout with an H.264 track
    frames, seconds = imageio_ffmpeg.count_frames_and_secs(str(path))
    assert frames == 3 + 4 and seconds == pytest.approx(7 / 5, abs=0.05)  # the last frame held for 5 frames in all


def test_a_resumed_run_keeps_its_earlier_frames_and_drops_an_abandoned_branch(tmp_path):
    pictures(tmp_path, [(8, 8)] * 5)  # steps 0..40 on disk
    written_now = [tmp_path / "grid_g000020.png", tmp_path / "grid_g000030.png"]  # this process resumed at 20
    frames = frames_of_run(tmp_path, "grid", since=20, written=written_now)
    assert [p.name for p in frames] == ["grid_g000000.png", "grid_g000010.png", "grid_g000020.png", "grid_g000030.png"]


def tiny_dcgan():
    return DCGAN(data_shape=(1, 8, 8), latent_dim=8, g_width=4, d_width=4)


def grid_trainer(tmp_path, g_steps, **kwargs):
    grid = SampleGrid(every_n_steps=1, num_samples=4, nrow=2, interpolation_rows=0, verbose=False, **kwargs)
    trainer = Trainer(accelerator="cpu", logger=False, callbacks=[grid], max_steps=2 * g_steps, enable_checkpointing=False,
                      enable_progress_bar=False, enable_model_summary=False, default_root_dir=str(tmp_path),
                      limit_val_batches=0)  # fmt: skip
    return grid, trainer


def test_sample_grid_animates_one_frame_per_grid(tmp_path):
    grid, trainer = grid_trainer(tmp_path, 3)
    trainer.fit(tiny_dcgan(), DigitsDataModule(batch_size=8))
    grids = find_frames(tmp_path / "samples", "grid")
    assert [p.name for p in grids] == [f"grid_g{g:06d}.png" for g in range(4)]
    assert grid.animation_path == tmp_path / "samples" / "training.gif"
    with Image.open(grid.animation_path) as gif, Image.open(grids[-1]) as last:
        assert gif.n_frames == len(grids)
        gif.seek(gif.n_frames - 1)
        shown, drawn = gif.convert("RGB").tobytes(), last.convert("RGB").tobytes()
    assert sum(abs(a - b) for a, b in zip(shown, drawn)) / len(drawn) < 2  # the last grid, up to the palette
    if find_ffmpeg() is not None:
        assert grid.video_path == tmp_path / "samples" / "training.mp4" and grid.video_path.read_bytes()[4:8] == b"ftyp"


def test_a_failing_ffmpeg_at_the_end_of_training_leaves_the_gif_and_warns(tmp_path, monkeypatch):
    fake_ffmpeg(tmp_path / "bin", monkeypatch, exit_code=1)
    grid, trainer = grid_trainer(tmp_path, 1)
    with pytest.warns(UserWarning, match=r"could not write .*training\.mp4'.*; the GIF .*training\.gif is written"):
        trainer.fit(tiny_dcgan(), DigitsDataModule(batch_size=8))
    assert grid.animation_path.is_file() and grid.video_path is None
    assert sorted(p.name for p in (tmp_path / "samples").iterdir()) == ["grid_g000000.png", "grid_g000001.png", "training.gif"]


@pytest.mark.filterwarnings("ignore:You're resuming from a checkpoint that ended before the epoch ended")
def test_a_resumed_sample_grid_animates_the_whole_run_once(tmp_path):
    grid, trainer = grid_trainer(tmp_path, 2)
    trainer.fit(tiny_dcgan(), DigitsDataModule(batch_size=8))
    trainer.save_checkpoint(tmp_path / "run.ckpt")
    Image.new("RGB", (8, 8)).save(tmp_path / "samples" / "grid_g000099.png")  # a branch abandoned by this resume
    grid, trainer = grid_trainer(tmp_path, 4)
    trainer.fit(tiny_dcgan(), DigitsDataModule(batch_size=8), ckpt_path=tmp_path / "run.ckpt")
    with Image.open(grid.animation_path) as gif:
        assert gif.n_frames == 5  # G steps 0, 1, 2 before the resume; 2 (drawn again, one file), 3, 4 after


@pytest.mark.parametrize("make", [
    lambda: SampleGrid(every_n_steps=1, num_samples=4, nrow=2, interpolation_rows=0, verbose=False, animation=False),
    lambda: DistributionMonitor(every_n_steps=2, verbose=False, animation=False),
], ids=["sample_grid", "distribution_monitor"])
def test_animation_false_writes_none(make, tmp_path):
    callback = make()
    images = isinstance(callback, SampleGrid)
    model = tiny_dcgan() if images else VanillaGAN(data_shape=[1], latent_dim=4, g_hidden_dims=[8], d_hidden_dims=[8])
    data = DigitsDataModule(batch_size=8) if images else Gaussian1D(batch_size=32, num_train=64, num_val=32)
    Trainer(accelerator="cpu", logger=False, callbacks=[callback], max_steps=4, enable_checkpointing=False,
            enable_progress_bar=False, enable_model_summary=False, default_root_dir=str(tmp_path),
            limit_val_batches=0).fit(model, data)  # fmt: skip
    written = find_frames(tmp_path / ("samples" if images else "figures"), "grid" if images else "distribution")
    assert len(written) >= 2 and callback.animation_path is None
    assert not list(tmp_path.rglob("*.gif")) and not list(tmp_path.rglob("*.mp4"))


def monitor_run(tmp_path, logger, every_n_steps=5, g_steps=20):
    monitor = DistributionMonitor(every_n_steps=every_n_steps, num_samples=500, verbose=False)
    model = VanillaGAN(data_shape=[1], latent_dim=4, g_hidden_dims=[16], d_hidden_dims=[16])
    trainer = pl.Trainer(
        accelerator="cpu", logger=logger, default_root_dir=tmp_path, max_epochs=-1, val_check_interval=10,
        check_val_every_n_epoch=None, limit_val_batches=1, enable_progress_bar=False, enable_checkpointing=False,
        enable_model_summary=False, callbacks=[monitor, MaxGeneratorSteps(g_steps)],
    )
    trainer.fit(model, Gaussian1D(batch_size=32, num_train=640, num_val=64))
    return monitor


def test_distribution_monitor_animates_one_frame_per_figure(tmp_path):
    monitor = monitor_run(tmp_path, False)
    figures = find_frames(tmp_path / "figures", "distribution")
    assert [p.name for p in figures] == [f"distribution_g{g:06d}.png" for g in (0, 5, 10, 15, 20)]  # 10, 20: validations too
    assert monitor.frames == figures  # each drawn once, though validation asked for 10 and 20 again
    assert monitor.animation_path == tmp_path / "figures" / "training.gif"
    with Image.open(monitor.animation_path) as gif:
        assert gif.n_frames == len(figures) and gif.size == Image.open(figures[0]).size


def test_the_animation_reaches_weights_and_biases_as_a_video(tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("PATH", "")  # no ffmpeg: the GIF is what W&B gets
    monkeypatch.setitem(__import__("sys").modules, "imageio_ffmpeg", None)
    logger = WandbLogger(project="ganzoo", save_dir=str(tmp_path), offline=True)
    monitor = monitor_run(tmp_path, logger, every_n_steps=10)
    logger.experiment.finish()
    wandb.teardown()  # finish() may return before wandb's service has written the run file out; teardown waits for it
    (run_dir,) = (tmp_path / "wandb").glob("offline-run-*")
    (video,) = (run_dir / "files" / "media" / "videos" / "final").glob("animation_*.gif")
    assert video.read_bytes() == monitor.animation_path.read_bytes()
    logged = [row for row in read_offline_run(run_dir)["history"] if row.get("final/animation/_type") == "videos"]
    assert len(logged) == 1 and logged[0]["trainer/global_step"] == 20  # at the step of the run's last pictures
    (entry,) = logged[0]["final/animation/videos"]
    assert entry["_type"] == "video-file" and (run_dir / "files" / entry["path"]) == video
