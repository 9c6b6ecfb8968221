"""Stand-in for the released ``model_config.py``: the config only carries the nested ``model_config`` mapping.

Test fixture, not part of tpo_eval: tests/helpers/videochat_tpo_standin.py copies this folder into a
checkpoint.
"""

from transformers.configuration_utils import PretrainedConfig


class VideoChatEConfig(PretrainedConfig):
    model_type = "VideoChatE"

    def __init__(self, model_config=None, build_decoder=True, **kwargs):
        super().__init__(**kwargs)
        self.model_config = dict(model_config or {})
        self.build_decoder = build_decoder
