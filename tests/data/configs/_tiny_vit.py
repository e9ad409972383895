# A 4-layer, 64-wide ViT with the MGC structure: what tests/data/configs/mgc_vit-tiny_demo.py
# pretrains, so that the shrunken downstream configs fine-tune a real mgc_mm checkpoint.
tiny_arch = dict(embed_dims=64, num_layers=4, num_heads=8, feedforward_channels=128)
tiny_dims = 64
tiny_pyramid = dict(type='mmseg.Feature2Pyramid', embed_dim=64, rescales=[4, 2, 1, 0.5],
                    norm_cfg=dict(type='SyncBN', requires_grad=True))
