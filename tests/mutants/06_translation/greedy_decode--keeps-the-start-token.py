# loses: test_greedy_decode
# hint: Your output starts with <s>
def greedy_decode(model, src, max_len, bos_id=1, eos_id=2):
    model.eval()
    with torch.no_grad():
        src_mask = padding_mask(src, model.pad_id)
        memory = model.encode(src, src_mask)
        generated = torch.full((src.shape[0], 1), bos_id, dtype=torch.long)
        done = torch.zeros(src.shape[0], dtype=torch.bool)
        for _ in range(max_len):
            logits = model.decode(generated, memory, target_mask(generated, model.pad_id), src_mask)
            next_token = logits[:, -1].argmax(dim=-1).masked_fill(done, model.pad_id)
            generated = torch.cat([generated, next_token[:, None]], dim=1)
            done |= next_token == eos_id
            if done.all():
                break
    return generated
