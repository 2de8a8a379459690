"""What runs a checked spec's module: the generated source built (build), a
run's checkpoints written and read (checkpoint), the spec a checkpoint or ONNX
file carries (embedded), the samples a model is shown (samples), and folders
too big for memory, decoded once into an on-disk cache (store). Its
modules import torch or numpy; this package's __init__ imports nothing."""
