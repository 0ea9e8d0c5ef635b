"""Post-training int8 quantization and the exact integer simulation of docs/NUMERICS.md."""
