// The one function of the generated defines.h that activations.h uses (tests only).
#ifndef PYC_DEFINES_H
#define PYC_DEFINES_H
static inline float pyc_float_from_bits(unsigned bits) {
    union { unsigned u; float f; } c;
    c.u = bits;
    return c.f;
}
#endif
