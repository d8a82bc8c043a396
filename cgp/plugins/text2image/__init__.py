"""Built-in plugin ``text2image``: images from captions (matching-aware D, StackGAN stages)."""

from __future__ import annotations

from collections.abc import Callable

from cgp import hookimpl

CGP_API = "1.0"  # the plugin API this plugin is written for (cgp.api.VERSION)


@hookimpl
def cgp_register_tasks(register: Callable[[type], None]) -> None:
    from cgp.plugins.text2image.task import Text2ImageTask

    register(Text2ImageTask)


@hookimpl
def cgp_register_losses(register: Callable[[type], None]) -> None:
    from cgp.plugins.text2image.objective import MatchingAwareGradientPenalty, SentenceMatchLoss

    register(MatchingAwareGradientPenalty)
    register(SentenceMatchLoss)


@hookimpl
def cgp_register_metrics(register: Callable[..., None]) -> None:
    from cgp.plugins.text2image.evaluation import caption_match, image_statistics, inception_fid, retrieval

    register("caption_match", caption_match)
    register("retrieval", retrieval)
    register("image_statistics", image_statistics)
    register("inception_fid", inception_fid)


@hookimpl
def cgp_register_datasets(register: Callable[..., None]) -> None:
    from cgp.datasets.captioned import CaptionedImageFolder

    # factory(root, split, image_size=S): ROOT/{train,test}/metadata.jsonl or metadata.csv
    register("captioned_image_folder", CaptionedImageFolder)
