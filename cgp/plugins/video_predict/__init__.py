"""Built-in plugin ``video_predict``: next-frame prediction with clip and frame discriminators."""

from __future__ import annotations

from collections.abc import Callable

from cgp import hookimpl

CGP_API = "1.0"  # the plugin API this plugin is written for (cgp.api.VERSION)


@hookimpl
def cgp_register_tasks(register: Callable[[type], None]) -> None:
    from cgp.plugins.video_predict.task import VideoPredictTask

    register(VideoPredictTask)


@hookimpl
def cgp_register_metrics(register: Callable[..., None]) -> None:
    from cgp.plugins.video_predict.evaluation import prediction_quality

    register("prediction_quality", prediction_quality)


@hookimpl
def cgp_register_datasets(register: Callable[..., None]) -> None:
    from cgp.datasets.video_clips import VideoClipFolder

    # reader(root, split, length, image_size, stride=1, channels=3, step=1, cache_mb=1024, skip_bad=False);
    # the built-in bouncing shapes are what the task reads when data.root is unset, not a reader of a root
    register("video_clip_folder", VideoClipFolder)
