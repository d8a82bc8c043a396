"""A real-video set for ``video_predict`` from recordings that Debian packages ship.

    python benchmarks/video_real_set.py --out benchmarks/out/video_real

Sources (each at least 200 frames):

* ``opencv-doc``: ``vtest.avi`` (pedestrians on a square, static camera, 795 frames, 10 frames/s, colour),
  ``Megamind.avi`` (a film trailer excerpt, 270 frames, 24 frames/s, colour) and ``tree.avi`` (a tree
  in the wind, hand-held camera, 444 frames, 15 frames/s, colour);
* ``visp-images-data``: the camera sequences ``mire-2`` (a moving camera looking at a calibration
  target, 501 frames) and ``mbt/cube`` (a hand-held camera around a cube, 218 frames), grayscale PGM.

Every source is split in time: its first 80% of frames go to ``train/``, the last 20% to ``test/``, so
the test clips show later moments of the same scenes, never seen in training. Frames are centre-cropped
to a square and resized to ``--size`` (128) with the task's own reader, and each part is written as a
lossless FFV1 ``.mkv`` that the task reads back through PyAV at its ``data.size``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from cgp.datasets.video import decode_video, probe_video, read_frame_folder, write_video

OPENCV = Path("/usr/share/doc/opencv-doc/examples/data")
VISP = Path("/usr/share/visp-images-data/ViSP-images")
SOURCES = {
    "vtest": OPENCV / "vtest.avi",
    "megamind": OPENCV / "Megamind.avi",
    "tree": OPENCV / "tree.avi",
    "mire2": VISP / "mire-2",
    "mbt_cube": VISP / "mbt" / "cube",
}
PACKAGES = {OPENCV: "opencv-doc", VISP: "visp-images-data"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/out/video_real"))
    parser.add_argument("--size", type=int, default=128, help="stored frame side")
    parser.add_argument("--test-fraction", type=float, default=0.2, help="last part of each source held out")
    opts = parser.parse_args()
    for name, path in SOURCES.items():
        if not path.exists():
            package = next(p for root, p in PACKAGES.items() if path.is_relative_to(root))
            raise SystemExit(f"'{path}' is missing: apt-get install {package}")
        if path.is_dir():
            frames = read_frame_folder(path, opts.size, channels=3)
        else:
            frames = decode_video(probe_video(path), opts.size, channels=3)
        cut = round(len(frames) * (1 - opts.test_fraction))
        write_video(opts.out / "train" / f"{name}.mkv", frames[:cut])
        write_video(opts.out / "test" / f"{name}.mkv", frames[cut:])
        print(f"{name}: {cut} training and {len(frames) - cut} test frames")


if __name__ == "__main__":
    main()
