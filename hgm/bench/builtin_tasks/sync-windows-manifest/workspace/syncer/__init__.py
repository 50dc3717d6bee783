"""One-way folder sync: compare a local folder with the remote manifest, plan uploads."""
