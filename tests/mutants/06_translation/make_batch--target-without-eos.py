# loses: test_make_batch
# hint: tgt_out must end each sentence with </s>
def make_batch(pairs, src_vocab, tgt_vocab):
    sources = [src_vocab.encode(pair["en"], add_eos=True) for pair in pairs]
    targets = [tgt_vocab.encode(pair["fr"]) for pair in pairs]
    src = torch.full((len(pairs), max(map(len, sources))), src_vocab.pad_id, dtype=torch.long)
    tgt_in = torch.full((len(pairs), 1 + max(map(len, targets))), tgt_vocab.pad_id, dtype=torch.long)
    tgt_out = tgt_in.clone()
    for row, (source, target) in enumerate(zip(sources, targets)):
        src[row, : len(source)] = torch.tensor(source)
        tgt_in[row, : len(target) + 1] = torch.tensor([tgt_vocab.bos_id] + target)
        tgt_out[row, : len(target)] = torch.tensor(target)
    return src, tgt_in, tgt_out
