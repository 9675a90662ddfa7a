"""PyTorch models and training (no AiiDA imports: the training job runs this on a bare GPU node)."""
