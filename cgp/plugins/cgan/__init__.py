"""Built-in plugin ``cgan``: class-conditional DCGAN on procedural shapes or class folders."""

from __future__ import annotations

from collections.abc import Callable

from cgp import hookimpl

CGP_API = "1.0"  # the plugin API this plugin is written for (cgp.api.VERSION)


@hookimpl
def cgp_register_tasks(register: Callable[[type], None]) -> None:
    from cgp.plugins.cgan.task import CganTask

    register(CganTask)


@hookimpl
def cgp_register_losses(register: Callable[[type], None]) -> None:
    from cgp.plugins.cgan.models import AuxiliaryClassifierLoss, AuxiliaryGeneratorLoss

    register(AuxiliaryClassifierLoss)
    register(AuxiliaryGeneratorLoss)


@hookimpl
def cgp_register_metrics(register: Callable[..., None]) -> None:
    from cgp.plugins.cgan.judge import judge_metrics

    register("class_judge", judge_metrics)


@hookimpl
def cgp_register_datasets(register: Callable[..., None]) -> None:
    from cgp.datasets.class_folder import ClassImageFolder
    from cgp.datasets.shards import ClassTarShards

    # factory(root, split, **options): ROOT/{train,test}/<class>/<image>, options image_size and classes
    register("class_image_folder", ClassImageFolder)
    # the same items from WebDataset-style tar shards (image + .cls members); class names from the shards
    register("class_tar_shards", ClassTarShards)
