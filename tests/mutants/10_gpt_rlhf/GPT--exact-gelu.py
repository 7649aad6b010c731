# hint: Your logits match GPT-2 with the EXACT (erf) GELU
class GPT(nn.Module):
    """GPT-2: token + learned position embeddings, pre-norm causal blocks, a final LayerNorm, a tied output layer."""

    def __init__(self, config):
        super().__init__()
        self.config = config
        self.token_embedding = nn.Embedding(config.vocab_size, config.n_embd)
        self.position_embedding = nn.Embedding(config.n_positions, config.n_embd)
        self.dropout = nn.Dropout(config.embd_pdrop)
        self.layers = nn.ModuleList(
            EncoderLayer(config.n_embd, config.n_head, config.inner_size, config.resid_pdrop, norm_first=True,
                         activation=F.gelu, layer_norm_eps=config.layer_norm_epsilon)
            for _ in range(config.n_layer))
        self.final_norm = nn.LayerNorm(config.n_embd, eps=config.layer_norm_epsilon)
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        self.lm_head.weight = self.token_embedding.weight

    def forward(self, input_ids, attention_mask=None, position_ids=None, cache=None):
        """(batch, new) ids -> (batch, new, vocab_size) next-token logits; with a cache, after the positions it holds."""
        past, new = cache_length(cache), input_ids.shape[1]
        if position_ids is None:
            position_ids = torch.arange(past, past + new, device=input_ids.device)[None]
        x = self.dropout(self.token_embedding(input_ids) + self.position_embedding(position_ids))
        mask = causal_mask(past + new).to(input_ids.device)[past:]
        if attention_mask is not None:
            mask = mask & attention_mask.bool()[:, None, None, :]
        for i, layer in enumerate(self.layers):
            x = layer_with_cache(layer, x, mask, None if cache is None else cache[i])
        return self.lm_head(self.final_norm(x))
        ### END SOLUTION
