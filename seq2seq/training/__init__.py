"""Training: the job behind seq2seq-train, its options, the fastai Learner (and loading a trained model),
callbacks, decoded validation metrics, history, best/last checkpoints, devices and several processes."""
