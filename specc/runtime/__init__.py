"""What runs a checked spec's module: the generated source built (build), a
run's checkpoints written and read (checkpoint), the spec a checkpoint or ONNX
file carries (embedded), and the samples a model is shown (samples). Its
modules import torch or numpy; this package's __init__ imports nothing."""
