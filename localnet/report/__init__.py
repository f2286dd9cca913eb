"""Reports: run and sweep directories summarised against the paper's published tables."""
