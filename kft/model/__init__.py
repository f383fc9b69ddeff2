"""The model: KerasHub tasks adapted for fine-tuning.

- `classifier`: text and image classifier tasks from a preset;
- `presets`: checks of `preset=` before KerasHub loads it;
- `importer`, `bert_import`, `efficientnet_import`: offline presets from
  local weights (`kft preset import`);
- `freeze`, `lora`, `dropout`: what trains, and how much it drops;
- `head`: backend-independent initial weights of the new head;
- `tiny`: tiny random presets for tests and smoke runs.

Consumes KerasHub's layering (backbone, preprocessor, task) without
subclassing it. Imports keras and KerasHub only inside functions.
"""

from kft.model.classifier import image_classifier, text_classifier

__all__ = ["image_classifier", "text_classifier"]
