"""Workers: claim jobs under a lease, keep it alive, run the importer, record the outcome; and the
reaper that fails exhausted jobs and sweeps staging and orphaned model files."""
