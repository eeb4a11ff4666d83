"""The image-module recipes: (nsfwjs model, cut layer, input size, pooling)
and a name. One list for the library driver (build-defaults), the TF.js
reference (tfjs-reference) and the docs (docs/modules.md "Image modules").

Every recipe here is a *candidate*: the cuts of issue 13's probe
measurements, at 96 x 96 input (as good as 224 on the small task images
and about 7 times cheaper), pooled globally and over a 2 x 2 grid. Which of
them enter the default library is decided by a probe measurement per image
task (docs/modules.md); until then build-defaults builds them only when
asked (`--only NAME` or `--candidates`).

Names: <network>-<cut>-<size>-<pooling>, network mnv2 (MobileNetV2 1.0),
mnv2mid (MobileNetV2 1.4), iv3 (Inception v3); cut b10e = block_10_expand_relu,
b13e = block_13_expand_relu, e13e = expanded_conv_13/expand (its ReLU6
output), m2 / m5 = mixed2 / mixed5; pooling g2 = the 2 x 2 grid, avg = the
global mean.
"""

CUTS = [
    # (short, model, cut layer, what it is)
    ("mnv2-b10e", "mobilenet_v2", "block_10_expand_relu",
     "MobileNetV2 1.0, expansion of block 10 (stride 16): the last layer of the "
     "part nsfwjs kept frozen, pure ImageNet"),
    ("mnv2-b13e", "mobilenet_v2", "block_13_expand_relu",
     "MobileNetV2 1.0, expansion of block 13 (stride 16, before its stride-2 "
     "depthwise); blocks 11-12 fine-tuned by nsfwjs"),
    ("mnv2mid-e13e", "mobilenet_v2_mid", "expanded_conv_13/expand",
     "MobileNetV2 1.4, expansion of block 13 (stride 16), the whole network "
     "fine-tuned by nsfwjs"),
    ("iv3-m2", "inception_v3", "mixed2",
     "Inception v3, the third 35x35-grid Inception block (stride 8), frozen ImageNet"),
    ("iv3-m5", "inception_v3", "mixed5",
     "Inception v3, the second 17x17-grid Inception block (stride 16), frozen ImageNet"),
]

POOLINGS = [("g2", "grid:2"), ("avg", "global")]
SIZE = 96


def recipes():
    """[{"name", "model", "cut", "size", "pooling", "candidate", "about"}]."""
    out = []
    for short, model, cut, about in CUTS:
        for tag, pooling in POOLINGS:
            out.append({"name": f"{short}-{SIZE}-{tag}", "model": model, "cut": cut,
                        "size": SIZE, "pooling": pooling, "candidate": True,
                        "about": about})
    return out
