"""What runs a checked spec's module: the generated source built (build), a
run's checkpoints written and read (checkpoint), the spec a checkpoint or ONNX
file carries (embedded), the samples a model is shown (samples), and the task
training and prediction take (task: one output). Its modules import torch or
numpy (task neither); this package's __init__ imports nothing."""
