"""What the suite knows about the lessons: which exist, and the figures each must reach."""
from __future__ import annotations

import operator
from pathlib import Path

import pytest

from course_lib.grading.course import lessons

ROOT = Path(__file__).resolve().parent.parent
LESSONS = lessons()

# The figure each lesson reports (notebook.report) at its full budget, and the floor or
# ceiling the suite holds it to. A lesson without an entry here fails the notebook test.
# Wall-time ratios are reported by the notebooks and measured by benchmarks/, never asserted here.
FIGURES: dict[str, dict[str, tuple[str, float]]] = {
    "01_rnn_limits": {
        "rnn_recall_accuracy_shortest_delay": (">=", 0.95),
        "rnn_recall_accuracy_longest_delay": ("<=", 0.3),
        "rnn_gradient_shrink_factor_over_20_steps": (">=", 1e3),
    },
    "02_attention": {
        "largest_difference_from_torch_sdpa": ("<=", 1e-10),
        "dot_product_variance_relative_error_at_d_k_1024": ("<=", 0.1),
        "raw_mean_largest_weight_at_d_k_1024": (">=", 0.9),
        "scaled_over_raw_jacobian_at_d_k_1024": (">=", 100.0),
        "scaled_dot_accuracy_at_largest_d_k": (">=", 0.95),
        "additive_accuracy_at_largest_d_k": (">=", 0.95),
        "unscaled_dot_accuracy_at_largest_d_k": ("<=", 0.8),
        "scaled_minus_unscaled_accuracy_at_largest_d_k": (">=", 0.2),
    },
    "03_multihead": {
        "joint_accuracy_two_heads": (">=", 0.95),
        "joint_accuracy_one_head": ("<=", 0.4),
        "two_heads_best_weight_on_previous": (">=", 0.8),
        "two_heads_best_weight_on_partner": (">=", 0.8),
    },
    "04_positional": {
        "order_accuracy_no_positions": ("<=", 0.25),
        "order_accuracy_sinusoidal": (">=", 0.95),
        "order_accuracy_learned": (">=", 0.95),
        "attention_on_t_minus_2_sinusoidal": (">=", 0.4),
        "probe_accuracy_after_6_blocks_residual": (">=", 0.7),
        "probe_accuracy_after_6_blocks_no_residual": ("<=", 0.1),
        "trained_task_accuracy_residual": (">=", 0.95),
        "trained_task_accuracy_no_residual": ("<=", 0.3),
        "trained_probe_accuracy_last_block_residual": (">=", 0.6),
        "trained_probe_accuracy_last_block_no_residual": ("<=", 0.15),
    },
    "05_transformer": {
        "reversal_token_accuracy_teacher_forcing": (">=", 0.95),
        "reversal_sequence_accuracy_greedy": (">=", 0.8),
        "reversal_cross_attention_on_mirrored_position": (">=", 0.25),
        "gradient_last_over_first_decoder_layer_post_norm": (">=", 1.2),
        "gradient_last_over_first_decoder_layer_pre_norm": ("<=", 1.0),
        "transformer_base_parameters_millions": (">=", 63.0),
        "transformer_base_unshared_parameters_millions": (">=", 100.0),
        "bert_base_parameters_millions": (">=", 109.0),
        "bert_large_parameters_millions": (">=", 335.0),
    },
    "06_translation": {
        "transformer_greedy_bleu_valid": (">=", 85.0),
        "transformer_greedy_bleu_test": (">=", 85.0),
        "transformer_beam_bleu_test_subset": (">=", 85.0),
        "bleu_difference_from_sacrebleu": ("<=", 1e-6),
        "cache_gives_same_translations": (">=", 1.0),
        "gru_greedy_bleu_test": (">=", 60.0),
        "transformer_minus_gru_bleu_test": (">=", 3.0),
    },
    "07_bert_pretraining": {
        "tokenizer_sentences_equal_to_hf": (">=", 1.0),
        "learned_pieces_inside_a_word_fraction": (">=", 1.0),
        "pair_encodings_equal_to_hf": (">=", 1.0),
        "minilm_largest_difference_from_hf": ("<=", 1e-4),
        "minilm_parameter_count_difference_from_hf": ("<=", 0.0),
        "minilm_paraphrase_minus_unrelated_cosine": (">=", 0.4),
        "masking_chosen_share_of_eligible": (">=", 0.13),
        "nsp_negatives_from_the_same_document": ("<=", 0.0),
        "bert_base_parameters_millions": (">=", 109.0),
        "bert_large_parameters_millions": (">=", 335.0),
        "live_mlm_accuracy_validation": (">=", 0.6),
        "live_nsp_accuracy_validation": (">=", 0.75),
        "mini_bert_mlm_accuracy_validation": (">=", 0.75),
        "mini_bert_nsp_accuracy_validation": (">=", 0.8),
        "mini_bert_nsp_accuracy_same_topic": (">=", 0.75),
        "right_context_accuracy_bidirectional": (">=", 0.12),
        "right_context_accuracy_left_to_right": ("<=", 0.1),
        "right_context_bidirectional_minus_left_to_right": (">=", 0.08),
        "right_context_accuracy_shipped": (">=", 0.85),
        "identity_without_mask_80_10_10": (">=", 0.3),
        "identity_without_mask_always_mask": ("<=", 0.3),
        "identity_80_10_10_minus_always_mask": (">=", 0.1),
        "correction_80_10_10_minus_always_mask": (">=", 0.0),
        "live_nsp_accuracy_other_document_end": (">=", 0.75),
        "live_nsp_accuracy_same_topic_end": (">=", 0.75),
    },
    "08_bert_finetuning": {
        "minilm_classifier_head_share_of_parameters": ("<=", 1e-4),
        "classification_accuracy_pretrained_3000": (">=", 0.6),
        "classification_accuracy_random_init_1000": (">=", 0.65),
        "classification_pretrained_minus_random_all": ("<=", 0.02),
        "classification_accuracy_mini_bert_probe_all": ("<=", 0.6),
        "classification_accuracy_minilm_probe_1000": (">=", 0.55),
        "feature_based_accuracy": ("<=", 0.6),
        "fine_tuned_minus_feature_based_accuracy": (">=", 0.1),
        "pretraining_over_fine_tuning_examples": (">=", 40.0),
        "qa_validation_hasans_f1_pretrained": (">=", 0.8),
        "qa_validation_hasans_f1_random_init": ("<=", 0.6),
        "qa_test_hasans_f1": (">=", 80.0),
        "qa_test_noans_accuracy": ("<=", 20.0),
        "qa_validation_f1_gain_from_tau": (">=", 0.0),
        "tagging_entity_f1": (">=", 0.95),
        "tagging_entity_f1_random_init": (">=", 0.9),
        "tagging_entity_f1_course_minus_seqeval": ("<=", 1e-12),
        "tag_accuracy_several_pieces_reading_first_piece": (">=", 0.95),
    },
    "09_roberta_spanbert": {
        "full_sentences_rows_equal_to_course": (">=", 1.0),
        "full_sentences_real_token_share": (">=", 0.9),
        "segment_pair_real_token_share": ("<=", 0.7),
        "static_distinct_masks_max": ("<=", 10),
        "dynamic_distinct_masks_min": (">=", 30),
        "static_chosen_share": (">=", 0.13),
        "span_length_mean_words": (">=", 3.79),
        "span_masking_whole_words": (">=", 1.0),
        "span_masking_chosen_share": (">=", 0.15),
        "byte_level_encodings_equal_to_tokenizers": (">=", 1.0),
        "byte_bpe_unknown_tokens": ("<=", 0.0),
        "bert_base_uncased_unknown_tokens": (">=", 1.0),
        "segment_pair_minus_full_sentences_heldout_loss": (">=", 0.25),
        "segment_pair_minus_sentence_order_heldout_loss": (">=", 0.15),
        "static_minus_dynamic_heldout_loss": (">=", 0.0),
        "nsp_arm_pair_accuracy": ("<=", 0.65),
        "sop_arm_pair_accuracy": ("<=", 0.65),
    },
    "10_gpt_rlhf": {
        "uniform_perplexity_over_vocabulary": ("<=", 1.001),
        "gpt_largest_difference_from_hf": ("<=", 1e-5),
        "gpt_untransposed_difference_from_hf": (">=", 1e-2),
        "gpt_exact_gelu_difference_from_hf": (">=", 1e-6),
        "live_perplexity_validation": ("<=", 400.0),
        "mini_gpt_perplexity_validation": ("<=", 2.0),
        "mini_gpt_grammatical_share_t1": (">=", 0.85),
        "grammatical_share_greedy": (">=", 0.95),
        "distinct_2_greedy": ("<=", 0.1),
        "grammatical_share_t1": (">=", 0.85),
        "distinct_2_t1": (">=", 0.3),
        "grammatical_share_t2": ("<=", 0.3),
        "grammatical_share_top_p_0_9": (">=", 0.93),
        "cache_gives_same_tokens": (">=", 1.0),
        "pairs_labelled": (">=", 150.0),
        "reward_accuracy_held_out": (">=", 0.5),
        "dpo_first_loss_minus_ln2": ("<=", 1e-5),
    },
}

COMPARE = {">=": operator.ge, "<=": operator.le}


def per_lesson(names: list[str] | None = None) -> list:
    """Parametrize values for each lesson, grouped so xdist keeps a lesson on one worker."""
    return [pytest.param(lesson, marks=pytest.mark.xdist_group(lesson), id=lesson) for lesson in (names or LESSONS)]
