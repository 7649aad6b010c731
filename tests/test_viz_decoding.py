"""The decoding pictures of lesson 06_translation: a beam-search tree and the key/value cache."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from course_lib.decoding import ScriptedModel, beam_search  # noqa: E402
from course_lib.viz.decoding import draw_beam_search, draw_kv_cache  # noqa: E402


def test_beam_tree_shows_kept_dropped_and_finished_hypotheses():
    scripted = ScriptedModel({(5,): {7: 0.5, 8: 0.4}, (5, 7): {3: 0.32, 4: 0.28, 2: 0.2}, (5, 8): {2: 0.9}},
                             vocab_size=10)
    steps = []
    result = beam_search(scripted, torch.tensor([[5, 2]]), beam_size=2, max_len=5, trace=steps)
    ax = draw_beam_search(steps, result, token_text=lambda i: "</s>" if i == 2 else f"w{i}")
    texts = [text.get_text() for text in ax.texts]
    assert "<s>" in texts
    assert "w7\n-0.69" in texts and "w8\n-0.92" in texts  # both kept at step 1
    assert any(text.startswith("</s>\ns=-0.93") for text in texts)  # 8 </s> finished, normalised score
    assert len(texts) == 1 + len(steps[0].candidates) + len(steps[1].candidates)
    plt.close(ax.figure)


def test_kv_cache_picture_has_one_row_per_step_and_reads_the_shapes():
    ax = draw_kv_cache(["<s>", "le", "chat"], ["le", "chat", "</s>"], ["the", "cat", "</s>"],
                       [(1, 2, t, 8) for t in (1, 2, 3)])
    texts = [text.get_text() for text in ax.texts]
    assert texts.count("q k v") == 3 and texts.count("k v") == (0 + 1 + 2) + 3 * 3  # reused + the source
    assert any("cache.key (1, 2, 3, 8)" in text for text in texts)
    plt.close(ax.figure)
    with pytest.raises(ValueError, match="one fed token, one predicted token"):
        draw_kv_cache(["<s>"], ["le", "chat"], ["the"])
