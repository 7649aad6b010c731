# loses: test_beam_search
# hint: Your result starts with <s>
def beam_search(model, src, beam_size=4, max_len=50, alpha=0.6, bos_id=1, eos_id=2):
    def normalised(hypothesis):
        tokens, score = hypothesis
        return score / ((5 + len(tokens) - 1) / 6) ** alpha

    model.eval()
    with torch.no_grad():
        src_mask = padding_mask(src, model.pad_id)
        memory = model.encode(src, src_mask)
        live, finished = [([bos_id], 0.0)], []
        for _ in range(max_len):
            tokens = torch.tensor([hypothesis for hypothesis, _ in live])
            logits = model.decode(tokens, memory.expand(len(live), -1, -1), target_mask(tokens, model.pad_id), src_mask)
            totals = torch.tensor([score for _, score in live])[:, None] + F.log_softmax(logits[:, -1], dim=-1)
            best = totals.flatten().topk(beam_size - len(finished))
            live = []
            for total, index in zip(best.values.tolist(), best.indices.tolist()):
                row, token = divmod(index, totals.shape[1])
                (finished if token == eos_id else live).append((tokens[row].tolist() + [token], total))
            if not live:
                break
    return max(finished + live, key=normalised)[0]
