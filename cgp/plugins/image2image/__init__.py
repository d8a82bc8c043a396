"""Built-in plugin ``image2image``: pix2pix (paired) and CycleGAN (unpaired) translation."""

from __future__ import annotations

from collections.abc import Callable

from cgp import hookimpl

CGP_API = "1.0"  # the plugin API this plugin is written for (cgp.api.VERSION)


@hookimpl
def cgp_register_tasks(register: Callable[[type], None]) -> None:
    from cgp.plugins.image2image.cyclegan import CycleGANTask
    from cgp.plugins.image2image.pix2pix import Pix2PixTask

    register(Pix2PixTask)
    register(CycleGANTask)


@hookimpl
def cgp_register_metrics(register: Callable[..., None]) -> None:
    from cgp.plugins.image2image.evaluation import cycle_quality, translation_quality

    register("translation_quality", translation_quality)
    register("cycle_quality", cycle_quality)


@hookimpl
def cgp_register_datasets(register: Callable[..., None]) -> None:
    from cgp.datasets.paired import PairedImageFolder
    from cgp.datasets.shards import PairedTarShards
    from cgp.datasets.unpaired import UnpairedImageFolder

    # factory(root, split, transform=PairTransform(...), ...)
    register("paired_image_folder", PairedImageFolder)
    register("paired_tar_shards", PairedTarShards)  # KEY.a.EXT + KEY.b.EXT members of tar shards
    register("unpaired_image_folder", UnpairedImageFolder)
