# loses: test_make_batch
# hint: 4 English tokens + </s>
def make_batch(pairs, src_vocab, tgt_vocab):
    length = 24
    src = torch.full((len(pairs), length), src_vocab.pad_id, dtype=torch.long)
    tgt_in = torch.full((len(pairs), length), tgt_vocab.pad_id, dtype=torch.long)
    tgt_out = tgt_in.clone()
    for row, pair in enumerate(pairs):
        source = src_vocab.encode(pair["en"], add_eos=True)
        target = tgt_vocab.encode(pair["fr"])
        src[row, : len(source)] = torch.tensor(source)
        tgt_in[row, : len(target) + 1] = torch.tensor([tgt_vocab.bos_id] + target)
        tgt_out[row, : len(target) + 1] = torch.tensor(target + [tgt_vocab.eos_id])
    return src, tgt_in, tgt_out
