"""``vr-exposure replay SESSION``: replay what the patient saw, in a window or to PNG frames or a video.

SESSION is a session directory or a session id under the sessions root. Times for ``--from``/``--to``
are seconds (or m:ss) since the session's origin, as in the report and the exports.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("session", metavar="SESSION", help="session directory or session id")
    parser.add_argument("--speed", type=float, default=1.0, metavar="X", help="playback speed (default 1)")
    parser.add_argument("--from", dest="from_t", default=None, metavar="T", help="start at T (s or m:ss)")
    parser.add_argument("--to", dest="to_t", default=None, metavar="T", help="stop at T (s or m:ss)")
    parser.add_argument(
        "--backend",
        choices=("window", "offscreen"),
        default=None,
        help="window (default with a display) or offscreen (default for --frames/--video or no display)",
    )
    out = parser.add_mutually_exclusive_group()
    out.add_argument(
        "--frames", type=Path, default=None, metavar="DIR", help="write PNG frames and frames.csv"
    )
    out.add_argument(
        "--video", type=Path, default=None, metavar="OUT.mp4", help="encode a video (needs ffmpeg)"
    )
    parser.add_argument(
        "--fps",
        type=float,
        default=None,
        metavar="F",
        help="frames per second of session time (default: --frames every recorded frame; --video 30)",
    )
    parser.add_argument("--size", default="960x540", metavar="WxH", help="frame size (default 960x540)")
    parser.add_argument("--max-frames", type=int, default=None, metavar="N", help="stop after N frames")
    parser.add_argument("--no-overlay", action="store_true", help="no timeline strip or text")
    parser.add_argument(
        "--gaze-ray",
        action="store_true",
        help="draw the head-gaze ray (green while a stimulus is within 15 degrees of it)",
    )


def _size(text: str) -> tuple[int, int]:
    from vr_exposure.research.replay import ReplayError

    try:
        w, h = (int(x) for x in text.lower().split("x"))
    except ValueError:
        raise ReplayError(f"--size {text!r}: use WIDTHxHEIGHT, e.g. 960x540") from None
    if not (16 <= w <= 8192 and 16 <= h <= 8192):
        raise ReplayError(f"--size {text!r}: width and height must be 16-8192")
    return w, h


def run(args: argparse.Namespace) -> int:
    from vr_exposure.research.replay import (
        Replayer,
        ReplayError,
        parse_time_s,
        replay_to_frames,
        replay_to_video,
        replay_window,
        require_ffmpeg,
    )
    from vr_exposure.research.timeline import load_timeline

    if not args.speed > 0:
        raise ReplayError(f"--speed {args.speed}: must be above 0")
    if args.video is not None:
        require_ffmpeg()  # before the session is read
    size = _size(args.size)
    tl = load_timeline(args.session)
    has_display = bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    backend = args.backend or (
        "window" if has_display and args.frames is None and args.video is None else "offscreen"
    )
    if backend == "offscreen" and args.frames is None and args.video is None:
        raise ReplayError("an offscreen replay needs somewhere to go: --frames DIR or --video OUT.mp4")
    start = None if args.from_t is None else tl.origin_mono_ns + int(parse_time_s(args.from_t) * 1e9)
    end = None if args.to_t is None else tl.origin_mono_ns + int(parse_time_s(args.to_t) * 1e9)
    for t in tl.torn:
        print(f"vr-exposure replay: note: {t.sentence()}", file=sys.stderr)
    replayer = Replayer(
        tl,
        backend=backend,
        size=size,
        start_ns=start,
        end_ns=end,
        overlay=not args.no_overlay,
        gaze_ray=args.gaze_ray,
    )
    try:
        if args.frames is not None:
            result = replay_to_frames(replayer, args.frames, fps=args.fps, max_frames=args.max_frames)
            print(f"{result.frames} frames written to {args.frames} (camera per frame in frames.csv)")
        elif args.video is not None:
            result = replay_to_video(
                replayer, args.video, fps=args.fps or 30.0, speed=args.speed, max_frames=args.max_frames
            )
            print(f"{result.frames} frames encoded to {args.video}")
        else:
            replay_window(replayer, speed=args.speed)
    finally:
        replayer.close()
    return 0
