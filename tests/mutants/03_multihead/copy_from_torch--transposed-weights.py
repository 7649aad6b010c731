def copy_from_torch(mha, torch_mha):
    """Transposes every weight ("PyTorch matrices are (in, out)"), but nn.Linear and torch both store (out, in)."""
    d = mha.d_model
    with torch.no_grad():
        for i, proj in enumerate((mha.q_proj, mha.k_proj, mha.v_proj)):
            proj.weight.copy_(torch_mha.in_proj_weight[i * d:(i + 1) * d].T)
            if torch_mha.in_proj_bias is not None:
                proj.bias.copy_(torch_mha.in_proj_bias[i * d:(i + 1) * d])
        mha.out_proj.weight.copy_(torch_mha.out_proj.weight.T)
        if torch_mha.out_proj.bias is not None:
            mha.out_proj.bias.copy_(torch_mha.out_proj.bias)
    return mha
