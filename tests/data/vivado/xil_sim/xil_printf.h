#ifndef XIL_PRINTF_H
#define XIL_PRINTF_H
#include "xil_types.h"
void xil_printf(const char8 *ctrl1, ...);
#endif
