"""The image-module recipes: (nsfwjs model, cut layer, input size, pooling)
and a name. One list for the library driver (build-defaults), the TF.js
reference (tfjs-reference) and the docs (docs/modules.md "Image modules").

The recipes are the cuts of issue 13's probe measurements, at 96 x 96
input (as good as 224 on the small task images and about 7 times cheaper),
pooled globally and over a 2 x 2 grid. DEFAULTS, chosen by the probe of
every recipe on every image task (scripts/modules/probe_images.py; the
table and why in docs/modules.md "The probe"), are built by build-defaults;
the others stay *candidates*, built only when asked (`--only NAME` or
`--candidates`).

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

# The default image library (docs/modules.md "The probe"): the best two by
# mean test accuracy over the 8 image tasks (mnv2mid-e13e-96-g2 0.827,
# iv3-m2-96-g2 0.822), the best on emoji-google (mnv2-b13e-96-g2), the
# cheapest (mnv2-b10e-96-g2, 58 MFLOPs, 0.812) and the best global pooling
# (mnv2mid-e13e-96-avg, 816 features, 0.811). iv3-m5 (0.816 / 0.789) is no
# better than iv3-m2 at 1.4 times the cost: a candidate.
DEFAULTS = {"mnv2-b10e-96-g2", "mnv2-b13e-96-g2", "mnv2mid-e13e-96-g2", "mnv2mid-e13e-96-avg",
            "iv3-m2-96-g2"}
SIZE = 96


def recipes():
    """[{"name", "model", "cut", "size", "pooling", "candidate", "about"}]."""
    out = []
    for short, model, cut, about in CUTS:
        for tag, pooling in POOLINGS:
            name = f"{short}-{SIZE}-{tag}"
            out.append({"name": name, "model": model, "cut": cut, "size": SIZE,
                        "pooling": pooling, "candidate": name not in DEFAULTS,
                        "about": about})
    return out
