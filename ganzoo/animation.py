"""Animations of training: the PNG frames a run saved (sample grids, distribution figures) as a GIF or an MP4.

    frames = find_frames(run_dir / "samples", "grid")      # grid_g000000.png, grid_g000500.png, ... by G step
    write_animation(frames, run_dir / "samples" / "training.gif", fps=5)
    write_animation(frames, run_dir / "samples" / "training.mp4")   # needs ffmpeg (find_ffmpeg)

A GIF needs only Pillow. An MP4 needs an ``ffmpeg`` executable: the one on ``PATH``, or the
one bundled with ``imageio-ffmpeg`` (``pip install 'ganzoo[video]'``).
"""
from __future__ import annotations

import errno
import math
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Optional, Sequence, Union

from lightning.pytorch.utilities import rank_zero_warn
from PIL import Image

from ganzoo.errors import ConfigError

#: the animation formats, by file suffix
FORMATS = ("gif", "mp4")
#: frames per second of an animation unless asked otherwise
DEFAULT_FPS = 5.0
#: seconds the last frame (the end of training) stays on screen
HOLD_SECONDS = 2.0
#: a frame's longer side is scaled down to this many pixels: a 770 px figure stays sharp, a GIF stays small
MAX_SIDE = 800


def frame_step(path: Union[str, Path]) -> Optional[int]:
    """The generator step in a frame's name (``grid_g001500.png`` -> 1500), ``None`` for another file."""
    match = re.fullmatch(r".+_g(\d+)\.png", Path(path).name)
    return int(match[1]) if match else None


def find_frames(directory: Union[str, Path], prefix: str) -> list[Path]:
    """The frames ``<prefix>_g<G steps>.png`` of ``directory``, in generator-step order.

    A resumed run writes into the same directory, so its frames follow the earlier ones;
    a step has one file name, so a frame drawn twice (at the step a run resumed from) is one frame.
    """
    return sorted((p for p in Path(directory).glob(f"{prefix}_g*.png") if frame_step(p) is not None), key=frame_step)


def find_ffmpeg() -> Optional[str]:
    """An ``ffmpeg`` executable: on ``PATH``, else imageio-ffmpeg's bundled one; ``None`` when neither exists."""
    found = shutil.which("ffmpeg")
    if found:
        return found
    try:
        import imageio_ffmpeg
    except ImportError:
        return None
    try:
        return imageio_ffmpeg.get_ffmpeg_exe()
    except RuntimeError:  # the package without its binary (a platform it has none for)
        return None


#: what a missing ffmpeg tells the user
NO_FFMPEG = "an MP4 needs ffmpeg: none on PATH and imageio-ffmpeg is not installed; pip install 'ganzoo[video]', or write a GIF"


def write_animation(
    frames: Sequence[Union[str, Path]], path: Union[str, Path], fps: float = DEFAULT_FPS, hold: float = HOLD_SECONDS
) -> Path:
    """Writes ``frames`` (PNG files, in order) as one animation, a GIF or an MP4 by ``path``'s suffix.

    Frames of unequal size are centred on a canvas of the largest, filled with the colour of
    their corner. A GIF shows two identical successive frames as one, for their total time.
    The file appears whole or not at all: it is written under a temporary name and renamed;
    on an error (a full disk) the temporary file is removed and the ``OSError`` names ``path``.

    Args:
        frames: PNG files, at least one.
        path: ``*.gif`` or ``*.mp4``.
        fps: frames per second.
        hold: seconds the last frame is shown (at least one frame's time).

    Returns:
        ``path``.
    """
    path = Path(path)
    kind = path.suffix.lower().lstrip(".")
    if kind not in FORMATS:
        raise ConfigError(f"unknown animation type '{path.suffix}' in '{path}'; use .gif or .mp4")
    if not frames:
        raise ConfigError(f"no frames to animate into '{path}'")
    ffmpeg = find_ffmpeg() if kind == "mp4" else None
    if kind == "mp4" and ffmpeg is None:
        raise ConfigError(NO_FFMPEG)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.stem}.partial{path.suffix}")
    try:
        pictures = _canvas(frames, even=kind == "mp4")
        if kind == "gif":
            _write_gif(pictures, partial, fps, hold)
        else:
            _write_mp4(pictures, partial, fps, hold, ffmpeg, name=path)
        os.replace(partial, path)
    except OSError as err:  # a full disk: no half-written animation, and an error that names it
        raise OSError(err.errno, err.strerror, str(path)) from None
    finally:
        partial.unlink(missing_ok=True)  # gone already once renamed
    return path


def _canvas(frames: Sequence[Union[str, Path]], even: bool = False) -> list[Image.Image]:
    """The frames as RGB pictures of one size (the largest, scaled to fit :data:`MAX_SIDE`; even for H.264)."""
    pictures = []
    for frame in frames:
        with Image.open(frame) as image:
            pictures.append(image.convert("RGB"))
    width, height = max(p.width for p in pictures), max(p.height for p in pictures)
    scale = min(1.0, MAX_SIDE / max(width, height))
    size = (round(width * scale), round(height * scale))
    if even:  # yuv420p halves the colour resolution: H.264 players want even sides
        size = (size[0] + size[0] % 2, size[1] + size[1] % 2)
    out = []
    for picture in pictures:
        if scale < 1:
            picture = picture.resize((round(picture.width * scale), round(picture.height * scale)), Image.Resampling.LANCZOS)
        if picture.size != size:
            canvas = Image.new("RGB", size, picture.getpixel((0, 0)))
            canvas.paste(picture, ((size[0] - picture.width) // 2, (size[1] - picture.height) // 2))
            picture = canvas
        out.append(picture)
    return out


def _write_gif(pictures: list[Image.Image], path: Path, fps: float, hold: float) -> None:
    """One palette for every frame, so colours hold still and Pillow writes each frame as its change from the last."""
    palette = _palette(pictures)
    frames = [p.quantize(palette=palette, dither=Image.Dither.NONE) for p in pictures]
    step_ms = max(20, round(1000 / fps))  # GIF delays count hundredths of a second; below 20 ms browsers slow it down
    durations = [step_ms] * len(frames)
    durations[-1] = max(step_ms, round(1000 * hold))
    frames[0].save(path, format="GIF", save_all=True, append_images=frames[1:], duration=durations, loop=0)


def _palette(pictures: list[Image.Image], budget: int = 4_000_000) -> Image.Image:
    """A 255-colour palette of all the frames, from a strip of them shrunk to about ``budget`` pixels.

    Nearest-neighbour shrinking keeps the colours exact; a palette of a few frames alone
    would miss the colours of the others and could map two frames onto one.
    """
    width, height = pictures[0].size
    factor = max(1, math.ceil(math.sqrt(width * height * len(pictures) / budget)))
    small = [p.resize((max(1, width // factor), max(1, height // factor)), Image.Resampling.NEAREST) for p in pictures]
    strip = Image.new("RGB", (small[0].width, small[0].height * len(small)))
    for i, picture in enumerate(small):
        strip.paste(picture, (0, i * picture.height))
    return strip.quantize(colors=255, method=Image.Quantize.MEDIANCUT)


def _write_mp4(pictures: list[Image.Image], path: Path, fps: float, hold: float, ffmpeg: str, name: Path) -> None:
    """H.264 in yuv420p (plays in browsers and W&B); the last frame repeated for ``hold`` seconds.

    ``path`` is the temporary file written; errors name ``name``, the file asked for.
    """
    repeats = max(1, round(hold * fps))
    with tempfile.TemporaryDirectory(prefix="ganzoo-frames-") as folder:
        for i, picture in enumerate(pictures + [pictures[-1]] * (repeats - 1)):
            picture.save(Path(folder) / f"{i:06d}.png")
        command = [
            ffmpeg, "-y", "-loglevel", "error", "-framerate", f"{fps:g}", "-i", str(Path(folder) / "%06d.png"),
            "-c:v", "libx264", "-pix_fmt", "yuv420p", "-movflags", "+faststart", "-f", "mp4", str(path),
        ]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode:
        message = (done.stderr.strip().splitlines() or [f"exit code {done.returncode}"])[-1]
        if "No space left" in message:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(name))
        raise ConfigError(f"ffmpeg ({ffmpeg}) could not write '{name}': {message}; write a GIF instead")


def frames_of_run(directory: Union[str, Path], prefix: str, since: int, written: Sequence[Path]) -> list[Path]:
    """The frames of one run in ``directory``: those of its earlier segments (before G step ``since``,
    where this process resumed) and those this process wrote (``written``), in G-step order.

    A frame past ``since`` that this process did not write is left out: it belongs to a branch
    of the run that a resume from an earlier checkpoint abandoned.
    """
    own = {Path(p).name for p in written}
    return [p for p in find_frames(directory, prefix) if frame_step(p) < since or p.name in own]


def animate_frames(frames: Sequence[Path], directory: Path, name: str = "training") -> tuple[Optional[Path], Optional[Path]]:
    """What the callbacks write when training ends: ``<directory>/<name>.gif``, and ``.mp4`` when ffmpeg exists.

    Returns:
        The GIF's path (``None`` without frames) and the MP4's (``None`` without ffmpeg, or,
        with a warning, when ffmpeg fails: the GIF is the record then).
    """
    if not frames:
        return None, None
    gif = write_animation(frames, Path(directory) / f"{name}.gif")
    if find_ffmpeg() is None:
        return gif, None
    try:
        return gif, write_animation(frames, Path(directory) / f"{name}.mp4")
    except ConfigError as err:  # ffmpeg's own failure; a full disk (OSError) stops as any write does
        rank_zero_warn(f"{err}; the GIF {gif} is written")
        return gif, None
