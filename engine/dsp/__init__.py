"""Pure DSP over float32 mono arrays with an explicit sample rate."""
