#ifndef XTIME_H
#define XTIME_H
#include "xil_types.h"
#include "xparameters.h"
typedef u64 XTime;
#define COUNTS_PER_SECOND (XPAR_CPU_CORTEXA9_CORE_CLOCK_FREQ_HZ / 2)
void XTime_GetTime(XTime *Xtime_Global);
#endif
