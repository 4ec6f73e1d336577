"""``ganzoo animate``: the pictures a run saved, assembled into an animated GIF or an MP4.

    ganzoo animate runs/ganzoo/<run id>                          # samples/training.gif (or figures/training.gif)
    ganzoo animate runs/ganzoo/<run id> --format mp4 --fps 10    # needs ffmpeg: pip install 'ganzoo[video]'
    ganzoo animate runs/ganzoo/<run id> --frames interpolation --output walk.gif

The frames are the run's ``samples/grid_g*.png`` (SampleGrid) or ``figures/distribution_g*.png``
(DistributionMonitor), one each, in generator-step order; a resumed run's are all in its directory.
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Optional

from ganzoo.animation import DEFAULT_FPS, FORMATS, NO_FFMPEG, find_ffmpeg, find_frames, frame_step, write_animation
from ganzoo.argparsing import CommandParser, check_output_path, positive_float
from ganzoo.errors import ConfigError

#: the kinds of frames, by ``--frames``: the folder of the run directory, the file prefix, the callback that writes them
KINDS = {
    "grid": ("samples", "grid", "SampleGrid"),
    "interpolation": ("samples", "interpolation", "SampleGrid"),
    "distribution": ("figures", "distribution", "DistributionMonitor"),
}
#: the kinds looked for, in order, when ``--frames`` is not given
DEFAULT_KINDS = ("grid", "distribution")


def parser() -> argparse.ArgumentParser:
    p = CommandParser(prog="ganzoo animate", description="Assemble a run's saved pictures into an animation.")
    p.add_argument("run_dir", help="a run directory written by ganzoo fit (e.g. runs/ganzoo/<run id>)")
    p.add_argument("--output", default=None, help="the .gif or .mp4 to write; default: training.gif beside the frames")
    p.add_argument("--fps", type=positive_float, default=DEFAULT_FPS, help=f"frames per second; default {DEFAULT_FPS:g}")
    p.add_argument("--format", choices=FORMATS, default=None, help="gif or mp4 (needs ffmpeg); default: --output's suffix, else gif")
    p.add_argument("--frames", choices=list(KINDS), default=None,
                   help="which pictures: grid, interpolation or distribution; default: the grids, else the distribution figures")  # fmt: skip
    return p


def find_run_frames(run_dir: str, kind: Optional[str] = None) -> list[Path]:
    """The frames of ``kind`` in ``run_dir`` (``None``: the first kind of :data:`DEFAULT_KINDS` it holds).

    ``run_dir`` may also be the ``samples/`` or ``figures/`` folder itself.
    """
    folder = Path(run_dir).expanduser()
    if not folder.is_dir():
        raise ConfigError(f"run directory '{run_dir}' is not a folder; pass a run directory written by ganzoo fit, e.g. runs/ganzoo/<run id>")
    kinds = [kind] if kind else list(DEFAULT_KINDS)
    for name in kinds:
        subfolder, prefix, _ = KINDS[name]
        for place in (folder / subfolder, folder):
            frames = find_frames(place, prefix)
            if frames:
                return frames
    looked = " or ".join(f"{KINDS[name][0]}/{KINDS[name][1]}_g*.png (written by {KINDS[name][2]})" for name in kinds)
    which = "that callback" if len(kinds) == 1 else "one of these callbacks"
    raise ConfigError(f"no frames in '{run_dir}': looked for {looked}; pass the directory of a run trained with {which}")


def output_format(output: Optional[str], fmt: Optional[str]) -> str:
    """The animation's format from ``--format`` and ``--output``'s suffix, which must agree."""
    suffix = Path(output).suffix.lower().lstrip(".") if output else ""
    if output and suffix not in FORMATS:
        raise ConfigError(f"--output '{output}' is not a .gif or .mp4; name one, e.g. --output training.gif")
    if fmt and suffix and fmt != suffix:
        raise ConfigError(f"--format {fmt} but --output '{output}' is a .{suffix}; drop --format, or name a .{fmt} file")
    return fmt or suffix or "gif"


def main(argv: Optional[list[str]] = None) -> Path:
    """Runs ``ganzoo animate``; every bad input fails, with one line, before a frame is read. Returns the file written."""
    args = parser().parse_args(argv)
    fmt = output_format(args.output, args.format)
    if fmt == "mp4" and find_ffmpeg() is None:
        raise ConfigError(NO_FFMPEG)
    if args.output:
        check_output_path("--output", args.output)
    frames = find_run_frames(args.run_dir, args.frames)
    output = Path(args.output) if args.output else check_output_path("--output", frames[0].parent / f"training.{fmt}")
    path = write_animation(frames, output, fps=args.fps)
    steps = f"G steps {frame_step(frames[0])} to {frame_step(frames[-1])}"
    print(f"ganzoo: {len(frames)} frames ({steps}) at {args.fps:g} fps: {path}")
    return path
