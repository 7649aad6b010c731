"""The decoding pictures of lesson 06_translation: a beam-search tree and the key/value cache."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from course_lib.decoding import ScriptedModel, beam_search  # noqa: E402
from course_lib.transformer import Transformer  # noqa: E402
from course_lib.viz.decoding import draw_beam_search, draw_kv_cache, trace_beam_search  # noqa: E402

SCRIPT = {(5,): {7: 0.5, 8: 0.4}, (5, 7): {3: 0.32, 4: 0.28, 2: 0.2}, (5, 8): {2: 0.9}}


@pytest.mark.parametrize("beam_size, max_len", [(2, 5), (3, 5), (1, 5), (1, 2), (3, 1)])
def test_trace_read_off_the_decoded_prefixes_is_the_course_search_s_own_record(beam_size, max_len):
    scripted, src = ScriptedModel(SCRIPT, vocab_size=10), torch.tensor([[5, 2]])
    recorded = []
    expected = beam_search(scripted, src, beam_size=beam_size, max_len=max_len, trace=recorded)
    result, steps = trace_beam_search(beam_search, scripted, src, beam_size=beam_size, max_len=max_len)
    assert result == expected and steps == recorded


def test_at_max_len_the_live_hypotheses_of_the_last_step_finish_without_eos():
    # the course's search stops here by its bound before counting 7 3 as finished; a search without the
    # bound (the exercise's) counts it, and so does the trace read off the prefixes
    result, steps = trace_beam_search(beam_search, ScriptedModel(SCRIPT, vocab_size=10), torch.tensor([[5, 2]]),
                                      beam_size=2, max_len=2)
    assert result == [8, 2]
    assert [ids for ids, _, _ in steps[-1].finished] == [[8, 2], [7, 3]]


@pytest.mark.parametrize("seed", range(4))
def test_trace_of_a_transformer_s_search_matches_the_record_step_by_step(seed):
    torch.manual_seed(seed)
    model = Transformer(9, 9, d_model=8, num_heads=2, num_layers=1, d_ff=8, dropout=0.0)
    with torch.no_grad():
        model.output_projection.bias[2] += 0.3  # </s> likely enough that hypotheses finish at different steps
    src = torch.randint(3, 9, (1, 4), generator=torch.Generator().manual_seed(seed))
    for beam_size, max_len, alpha in ((3, 6, 0.6), (4, 8, 1.0), (2, 3, 0.0)):
        recorded = []
        expected = beam_search(model, src, beam_size, max_len, alpha, trace=recorded)
        result, steps = trace_beam_search(beam_search, model, src, beam_size, max_len, alpha)
        assert result == expected
        assert [(s.extended, s.candidates) for s in steps] == [(s.extended, s.candidates) for s in recorded]
        assert [s.finished for s in steps[:-1]] == [s.finished for s in recorded[:-1]]
        # the course's search may stop at max_len by its bound, leaving the live hypotheses out of `finished`
        assert all(end in steps[-1].finished for end in recorded[-1].finished)


def test_trace_sees_a_search_that_decodes_one_hypothesis_at_a_time_and_never_stops_early():
    class OneAtATime(ScriptedModel):
        calls = 0

        def decode(self, tgt, memory, tgt_mask=None, memory_mask=None):
            OneAtATime.calls += 1
            return torch.cat([super(OneAtATime, self).decode(tgt[i : i + 1], memory[i : i + 1]) for i in range(len(tgt))])

    def greedy_by_rows(model, src, beam_size=4, max_len=50, alpha=0.6, bos_id=1, eos_id=2):
        """A beam of one, decoding its hypothesis alone at each step, as a learner's search might."""
        tokens = [bos_id]
        memory = model.encode(src)
        for _ in range(max_len):
            tokens.append(int(model.decode(torch.tensor([tokens]), memory)[0, -1].argmax()))
            if tokens[-1] == eos_id:
                break
        return tokens[1:]

    result, steps = trace_beam_search(greedy_by_rows, OneAtATime(SCRIPT, vocab_size=10), torch.tensor([[5, 2]]),
                                      beam_size=1, max_len=5)
    assert result == [7, 3, 2] and OneAtATime.calls == 3
    kept = [[(row, token) for row, token, _, kept in s.candidates if kept] for s in steps]
    assert kept == [[(0, 7)], [(0, 3)], [(0, 2)]]
    assert [[ids for ids, _, _ in s.finished] for s in steps] == [[], [], [[7, 3, 2]]]


def test_beam_tree_shows_kept_dropped_and_finished_hypotheses():
    scripted = ScriptedModel({(5,): {7: 0.5, 8: 0.4}, (5, 7): {3: 0.32, 4: 0.28, 2: 0.2}, (5, 8): {2: 0.9}},
                             vocab_size=10)
    steps = []
    result = beam_search(scripted, torch.tensor([[5, 2]]), beam_size=2, max_len=5, trace=steps)
    assert trace_beam_search(beam_search, scripted, torch.tensor([[5, 2]]), beam_size=2, max_len=5) == (result, steps)
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
