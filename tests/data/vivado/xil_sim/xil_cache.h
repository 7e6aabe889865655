#ifndef XIL_CACHE_H
#define XIL_CACHE_H
#include "xil_types.h"
void Xil_DCacheFlushRange(UINTPTR adr, u32 len);
void Xil_DCacheInvalidateRange(UINTPTR adr, u32 len);
#endif
