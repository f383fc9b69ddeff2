"""LoRA on a KerasHub backbone: `lora_rank=R`."""

from kft.errors import KftError


def enable_lora(model, rank):
    """Turns on KerasHub's LoRA of rank `rank` in the model's backbone.

    KerasHub's `Backbone.enable_lora` freezes every backbone weight, then
    adds trainable low-rank factors (`lora_kernel_a`, `lora_kernel_b`) to the
    attention query and value projections, whose biases stay trainable. The
    task's head outside the backbone trains as usual. Saving merges the
    factors into the kernels, so the saved model reloads as a plain one.

    Args:
        model: keras.Model. A KerasHub task with a `backbone`.
        rank: int or None. The rank; None or 0 leaves the model as it is.

    Raises:
        KftError: when the model has no backbone with LoRA target layers.
    """
    if not rank:
        return
    backbone = getattr(model, "backbone", None)
    if backbone is None or not hasattr(backbone, "enable_lora"):
        raise KftError(f"lora_rank={rank} needs a KerasHub task with a "
                       "backbone; set lora_rank=none")
    backbone.enable_lora(rank)
    if not backbone.trainable_weights:
        targets = ", ".join(backbone.default_lora_layer_names()) or "none"
        raise KftError(
            f"lora_rank={rank}: {type(backbone).__name__} has no LoRA target "
            f"layers ({targets}); LoRA applies to attention backbones, set "
            "lora_rank=none")
