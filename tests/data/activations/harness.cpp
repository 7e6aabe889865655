// Test harness for hls_templates/activations.h.j2 (tests/test_activations.py): applies one function to
// n float32 values, as the kernel does, for a bit-for-bit comparison with pycompress/hw/activations.py.
#include "activations.h"

extern "C" void pyc_apply(int fn, const float *x, float *y, int n, float a, float b) {
    for (int i = 0; i < n; i++) {
        const float v = x[i];
        switch (fn) {
            case 0: y[i] = pyc_exp(v); break;
            case 1: y[i] = pyc_tanh(v); break;
            case 2: y[i] = pyc_sigmoid(v); break;
            case 3: y[i] = pyc_silu(v); break;
            case 4: y[i] = pyc_gelu(v); break;
            case 5: y[i] = pyc_gelu_tanh(v); break;
            case 6: y[i] = pyc_clamp(v, a, b); break;
            case 7: y[i] = pyc_leaky_relu(v, a); break;
            case 8: y[i] = pyc_hardsigmoid(v); break;
            case 9: y[i] = pyc_hardswish(v); break;
        }
    }
}
