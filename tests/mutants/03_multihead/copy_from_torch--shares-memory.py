def copy_from_torch(mha, torch_mha):
    """Points mha's parameters at torch's storage (.data = slice): right outputs, but the modules are now tied."""
    d = mha.d_model
    for i, proj in enumerate((mha.q_proj, mha.k_proj, mha.v_proj)):
        proj.weight.data = torch_mha.in_proj_weight.data[i * d:(i + 1) * d]
        if torch_mha.in_proj_bias is not None:
            proj.bias.data = torch_mha.in_proj_bias.data[i * d:(i + 1) * d]
    mha.out_proj.weight.data = torch_mha.out_proj.weight.data
    if torch_mha.out_proj.bias is not None:
        mha.out_proj.bias.data = torch_mha.out_proj.bias.data
    return mha
