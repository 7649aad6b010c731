# loses: test_make_batch
# hint: tgt_in must start with <s>
def make_batch(pairs, src_vocab, tgt_vocab):
    sources = [src_vocab.encode(pair["en"], add_eos=True) for pair in pairs]
    targets = [tgt_vocab.encode(pair["fr"], add_eos=True) for pair in pairs]
    src = torch.full((len(pairs), max(map(len, sources))), src_vocab.pad_id, dtype=torch.long)
    tgt = torch.full((len(pairs), max(map(len, targets))), tgt_vocab.pad_id, dtype=torch.long)
    for row, (source, target) in enumerate(zip(sources, targets)):
        src[row, : len(source)] = torch.tensor(source)
        tgt[row, : len(target)] = torch.tensor(target)
    return src, tgt.clone(), tgt
