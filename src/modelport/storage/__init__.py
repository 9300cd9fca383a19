"""Object storage behind a narrow interface: source buckets (list, stat, ranged reads) and the model
store (stage, publish, delete). Local folders, S3 and Alibaba OSS sit behind it, chosen by config."""
